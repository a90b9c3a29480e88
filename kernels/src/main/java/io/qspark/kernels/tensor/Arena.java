package io.qspark.kernels.tensor;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A per-thread pool of float arrays for op outputs, so an inference forward allocates nothing
 * proportional to the batch once warm (issue 20, item 2). Ops take their output arrays from
 * {@link #floats}; outside an {@link #open} scope that is exactly {@code new float[n]}. Inside
 * one (the executor opens it for a forward whose observer keeps no values), a pooled array of
 * the exact length is handed out, zeroed (or as it was, to an op that writes every element:
 * {@link #overwritten}), and the executor gives it back with {@link #release}
 * once no live value references it.
 *
 * <p>Only arrays this thread's arena handed out during the current scope are ever taken back:
 * initializers, feeds, constants an op owns and anything else come from elsewhere and are
 * refused, whatever the caller passes. Arrays are exact lengths ({@link Tensor} requires it),
 * pooled by length, and the pool is bounded by {@link #CAPACITY_BYTES} per thread: beyond it the
 * least recently used lengths are dropped, so batches of changing size do not grow it.
 */
public final class Arena {
  /**
   * Bytes of free arrays one thread keeps at most: -Dqspark.arena.bytes, by default an eighth of
   * the heap shared among the cores (a Spark executor runs a task per core, each thread with its
   * pool), between 16 and 256 MiB. 0 keeps nothing (every forward allocates, as without it).
   */
  public static final long CAPACITY_BYTES = Long.getLong("qspark.arena.bytes", defaultCapacity());

  private static long defaultCapacity() {
    long share = Runtime.getRuntime().maxMemory() / 8 / Math.max(1, Runtime.getRuntime().availableProcessors());
    return Math.max(16L << 20, Math.min(256L << 20, share));
  }

  private static final ThreadLocal<Arena> CURRENT = ThreadLocal.withInitial(Arena::new);

  /** Free arrays by length, the most recently used length last. */
  private final LinkedHashMap<Integer, ArrayDeque<float[]>> free = new LinkedHashMap<>(16, 0.75f, true);
  /** Arrays handed out in the open scope and not yet given back. */
  private final IdentityHashMap<float[], Boolean> issued = new IdentityHashMap<>();
  private long pooledBytes;
  private int depth;
  private long reused, created;

  private Arena() {}

  /** This thread's arena. */
  public static Arena current() {
    return CURRENT.get();
  }

  /** A zeroed array of n floats: pooled inside an open scope, else new. */
  public static float[] floats(int n) {
    Arena a = CURRENT.get();
    return a.depth == 0 ? new float[n] : a.take(n, true, 0f);
  }

  /**
   * An array of n floats every element of which the caller writes before anything reads it (an
   * op's output that its kernel fills completely): as {@link #floats}, but a pooled array is
   * handed out as it was left, not zeroed, which saves a pass over every activation of a
   * forward. A new array is zero, as the JVM makes it. Under {@link #poison} a pooled array is
   * filled with NaN instead, so a caller that leaves an element unwritten shows in any comparison.
   */
  public static float[] overwritten(int n) {
    Arena a = CURRENT.get();
    return a.depth == 0 ? new float[n] : a.take(n, poison, Float.NaN);
  }

  /**
   * Tests: pooled arrays from {@link #overwritten} filled with NaN (every thread), to prove that
   * each caller writes all it takes. Off by default; costs what the zeroing saved.
   */
  public static void poison(boolean on) {
    poison = on;
  }

  private static volatile boolean poison;

  /** Whether a scope is open on this thread. */
  public boolean isOpen() {
    return depth > 0;
  }

  /**
   * Opens a scope on this thread; scopes nest (only the outermost one's close forgets what was
   * handed out). The caller must {@link #close} it in a finally block.
   */
  public void open() {
    depth++;
  }

  public void close() {
    if (depth == 0) throw new IllegalStateException("arena scope closed twice");
    if (--depth == 0) issued.clear();
  }

  /** True when the array came from this arena in the open scope and has not been given back. */
  public boolean owns(float[] a) {
    return issued.containsKey(a);
  }

  /**
   * Gives an array back for reuse; the caller guarantees no live value references it. Arrays
   * this arena did not hand out in the open scope are ignored.
   */
  public void release(float[] a) {
    if (a == null || a.length == 0 || issued.remove(a) == null) return;
    long bytes = 4L * a.length;
    if (bytes > CAPACITY_BYTES) return;
    free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
    pooledBytes += bytes;
    trim();
  }

  /** A pooled array of n floats, filled with value if fill (else left as it is), or a new one. */
  private float[] take(int n, boolean fill, float value) {
    float[] a = null;
    ArrayDeque<float[]> q = n == 0 ? null : free.get(n);
    if (q != null && !q.isEmpty()) {
      a = q.pop();
      pooledBytes -= 4L * n;
      if (q.isEmpty()) free.remove(n);
      if (fill) Arrays.fill(a, value);
      reused++;
    } else {
      a = new float[n];
      created++;
    }
    if (n > 0) issued.put(a, Boolean.TRUE);
    return a;
  }

  /** Drops the least recently used lengths (taken or given back) until the pool fits its capacity. */
  private void trim() {
    Iterator<Map.Entry<Integer, ArrayDeque<float[]>>> it = free.entrySet().iterator();
    while (pooledBytes > CAPACITY_BYTES && it.hasNext()) {
      Map.Entry<Integer, ArrayDeque<float[]>> e = it.next();
      ArrayDeque<float[]> q = e.getValue();
      while (pooledBytes > CAPACITY_BYTES && !q.isEmpty()) {
        q.pollLast();
        pooledBytes -= 4L * e.getKey();
      }
      if (q.isEmpty()) it.remove();
    }
  }

  /** Bytes of free arrays pooled on this thread. */
  public long pooledBytes() {
    return pooledBytes;
  }

  /** Arrays handed out from the pool and newly created, since the thread started (for tests). */
  public long reused() {
    return reused;
  }

  public long created() {
    return created;
  }

  /** Empties the pool (tests, or a caller that wants the memory back). */
  public void clear() {
    free.clear();
    pooledBytes = 0;
  }

  /** Pooled lengths and counts, for diagnostics. */
  @Override
  public String toString() {
    Map<Integer, Integer> m = new HashMap<>();
    free.forEach((k, q) -> m.put(k, q.size()));
    return "Arena[" + pooledBytes + " bytes pooled, " + m + "]";
  }
}
