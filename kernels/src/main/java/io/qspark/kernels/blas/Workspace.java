package io.qspark.kernels.blas;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Off-heap scratch buffers for GEMM operands, one set per thread and grown, never shrunk, so
 * steady-state inference allocates nothing. Each slot is a pointer for BLAS and a FloatBuffer
 * view of the same memory for Java-side packing (absolute get/put compile to plain loads).
 */
public final class Workspace {
  public static final int SLOTS = 3;
  private static final ThreadLocal<Workspace> LOCAL = ThreadLocal.withInitial(Workspace::new);

  private final FloatPointer[] pointers = new FloatPointer[SLOTS];
  private final FloatBuffer[] buffers = new FloatBuffer[SLOTS];

  public static Workspace get() {
    return LOCAL.get();
  }

  /** Slot i with room for at least n floats, position 0. Contents are undefined. */
  public FloatPointer pointer(int slot, long n) {
    ensure(slot, n);
    return pointers[slot].position(0);
  }

  /** The same memory as {@link #pointer} seen from Java. */
  public FloatBuffer buffer(int slot, long n) {
    ensure(slot, n);
    return buffers[slot];
  }

  private void ensure(int slot, long n) {
    FloatPointer p = pointers[slot];
    if (p != null && p.capacity() >= n) return;
    if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("workspace of " + n + " floats");
    long cap = Math.max(n, p == null ? 0 : p.capacity() + p.capacity() / 2);
    cap = Math.min(cap, Integer.MAX_VALUE);
    if (p != null) p.close();
    FloatPointer np = new FloatPointer(cap);
    pointers[slot] = np;
    buffers[slot] = np.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private float[] heap = new float[0];

  /** A heap array of at least n floats, for packing before one bulk copy off-heap. */
  public float[] heap(long n) {
    if (heap.length < n) {
      if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("workspace of " + n + " floats");
      heap = new float[(int) Math.max(n, Math.min(Integer.MAX_VALUE - 8, heap.length + (long) heap.length / 2))];
    }
    return heap;
  }

  private final float[][] heaps = new float[4][0];

  /** Heap arrays of at least the given sizes, distinct from each other and from {@link #heap}. */
  public float[][] heapArrays(int count, long[] sizes) {
    float[][] r = new float[count][];
    for (int i = 0; i < count; i++) {
      if (heaps[i].length < sizes[i]) {
        if (sizes[i] > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("workspace of " + sizes[i] + " floats");
        heaps[i] = new float[(int) sizes[i]];
      }
      r[i] = heaps[i];
    }
    return r;
  }

  /** A constant (weights) copied off-heap once; shared read-only by all threads. */
  public static FloatPointer constant(float[] data) {
    FloatPointer p = new FloatPointer(data.length);
    p.put(data);
    return p;
  }
}
