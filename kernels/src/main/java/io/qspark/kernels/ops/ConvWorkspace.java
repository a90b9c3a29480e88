package io.qspark.kernels.ops;

import io.qspark.kernels.blas.Workspace;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The buffers of one conv run as im2col + GEMM, from the thread's {@link Workspace}: the
 * weights off-heap (slot 0), one image-group's unfolded input on the heap and off-heap (slot 1),
 * one image-group's GEMM result off-heap (slot 2). The float conv ({@link Conv}) and the exact
 * one ({@link ExactConv}) set them up here, so both unfold and copy the same way.
 *
 * <p>The unfolded input is built on the heap with plain array copies and moved off-heap in one
 * bulk copy: per-row copies into a direct buffer cost a bounds-checked call each.
 */
final class ConvWorkspace {
  final FloatPointer weights;
  final float[] col;
  final FloatPointer colPointer;
  final FloatBuffer colBuffer;
  final FloatPointer resultPointer;
  final FloatBuffer result;
  private final ConvShape s;

  /** Reduction length of one group's GEMM: input channels per group times kernel taps. */
  final int k;
  /** Output positions per image: the GEMM's columns. */
  final int p;

  private ConvWorkspace(float[] w, ConvShape s) {
    this.s = s;
    this.k = s.groupChannels() * s.geometry().kh * s.geometry().kw;
    this.p = s.outHeight() * s.outWidth();
    Workspace ws = Workspace.get();
    weights = ws.pointer(0, w.length);
    ws.buffer(0, w.length).put(0, w, 0, w.length);
    long colLen = (long) k * p;
    col = ws.heap(colLen);
    colPointer = ws.pointer(1, colLen);
    colBuffer = ws.buffer(1, colLen);
    resultPointer = ws.pointer(2, (long) s.groupOutChannels() * p);
    result = ws.buffer(2, (long) s.groupOutChannels() * p);
  }

  /** The buffers for a conv of shape s with weights w, the weights copied off-heap. */
  static ConvWorkspace of(float[] w, ConvShape s) {
    return new ConvWorkspace(w, s);
  }

  /** Offset in x of image ni's group gi of input channels. */
  int inputBase(int ni, int gi) {
    return (ni * s.channels() + gi * s.groupChannels()) * s.height() * s.width();
  }

  /** Unfolds image ni's group gi of x ({@link Conv#im2col}) and moves it off-heap for the GEMM. */
  void unfold(float[] x, int ni, int gi) {
    Conv.im2col(x, inputBase(ni, gi), s, col, 0, p);
    colBuffer.put(0, col, 0, k * p);
  }

  /** The pointers back at their start, for the next user of the thread's workspace. */
  void rewind() {
    weights.position(0);
    colPointer.position(0);
    resultPointer.position(0);
  }
}
