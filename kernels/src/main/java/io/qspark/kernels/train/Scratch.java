package io.qspark.kernels.train;

import io.qspark.kernels.blas.Blas;
import io.qspark.kernels.blas.GemmShape;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Off-heap GEMM operands for the backward kernels, one set per thread, grown and never
 * shrunk, so a training step allocates nothing off-heap. Separate from the forward ops'
 * {@link io.qspark.kernels.blas.Workspace} so a backward kernel may run a forward op between
 * its own GEMMs without either overwriting the other's operands.
 */
final class Scratch {
  static final int SLOTS = 6;
  private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

  private final FloatPointer[] pointers = new FloatPointer[SLOTS];
  private final FloatBuffer[] buffers = new FloatBuffer[SLOTS];

  private float[] array = new float[0];
  private final float[][] heap = {new float[0], new float[0], new float[0]};

  static Scratch get() {
    return LOCAL.get();
  }

  FloatPointer pointer(int slot, long n) {
    ensure(slot, n);
    return pointers[slot].position(0);
  }

  FloatBuffer buffer(int slot, long n) {
    ensure(slot, n);
    return buffers[slot];
  }

  /** A heap array of at least n floats for im2col/col2im, reused by every call on this thread (contents undefined). */
  float[] array(int n) {
    if (array.length < n) array = new float[Math.max(n, array.length + array.length / 2)];
    return array;
  }

  /** Heap array {@code slot} (0-2) of at least n floats, kept for this thread (contents undefined); apart from {@link #array}. */
  float[] heap(int slot, int n) {
    if (heap[slot].length < n) heap[slot] = new float[Math.max(n, heap[slot].length + heap[slot].length / 2)];
    return heap[slot];
  }

  /** Slot holding a copy of a[off, off + n). */
  FloatPointer load(int slot, float[] a, int off, int n) {
    buffer(slot, n).put(0, a, off, n);
    return pointer(slot, n);
  }

  private void ensure(int slot, long n) {
    FloatPointer p = pointers[slot];
    if (p != null && p.capacity() >= n) return;
    if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("scratch of " + n + " floats");
    long cap = Math.min(Integer.MAX_VALUE, Math.max(n, p == null ? 0 : p.capacity() + p.capacity() / 2));
    if (p != null) p.close();
    FloatPointer np = new FloatPointer(cap);
    pointers[slot] = np;
    buffers[slot] = np.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  /** Row-major C = op(A) op(B) + beta C of shape s on slots, with offsets into them. */
  static void sgemm(GemmShape s, FloatPointer a, long aOff, FloatPointer b, long bOff, float beta, FloatPointer c,
      long cOff) {
    Blas.sgemm(s, 1f, a.position(aOff), b.position(bOff), beta, c.position(cOff));
    a.position(0);
    b.position(0);
    c.position(0);
  }

  /** Row-major op(A) op(B) for heap operands, op(A) m x k, op(B) k x n: a new m x n array. */
  static float[] matmul(boolean ta, boolean tb, int m, int n, int k, float[] a, float[] b) {
    Scratch s = get();
    FloatPointer ap = s.load(0, a, 0, m * k);
    FloatPointer bp = s.load(1, b, 0, k * n);
    FloatPointer cp = s.pointer(2, (long) m * n);
    sgemm(GemmShape.of(ta, tb, m, n, k), ap, 0, bp, 0, 0f, cp, 0);
    float[] c = new float[m * n];
    s.buffer(2, (long) m * n).get(0, c, 0, c.length);
    return c;
  }
}
