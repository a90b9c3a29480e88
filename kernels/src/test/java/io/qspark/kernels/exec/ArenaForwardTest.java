package io.qspark.kernels.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Arena;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.OnnxBuilder;
import io.qspark.kernels.testing.Shared;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The forward arena (issue 20 item 2) changes no bit: every value of every node, the outputs and
 * the statistics pass's histograms are the same with the arena on and off, over batches of
 * changing size (pooled arrays of earlier batches reused), on one and two threads, on the graph
 * as exported and on the inference graph; and an observer that keeps values keeps them intact.
 */
class ArenaForwardTest {
  private static final int[] BATCHES = {1, 7, 32, 5, 32, 64, 7};

  @ParameterizedTest
  @ValueSource(strings = {"resnet_s.onnx", "mbv2_s.onnx"})
  void everyValueIsBitIdenticalWithAndWithoutTheArena(String file) throws Exception {
    sameValues(file);
  }

  /**
   * Ops that take their outputs with Arena.overwritten get pooled arrays as they were left; with
   * them filled with NaN instead, an element an op forgot to write would differ from the run
   * without the arena.
   */
  @ParameterizedTest
  @ValueSource(strings = {"resnet_s.onnx", "mbv2_s.onnx"})
  void opsWriteEveryElementOfWhatTheyTakeUnzeroed(String file) throws Exception {
    Arena.poison(true);
    try {
      sameValues(file);
    } finally {
      Arena.poison(false);
    }
  }

  private static void sameValues(String file) throws Exception {
    Model m = Model.load(Shared.model(file));
    Tensor all = Shared.testImages(64);
    for (Graph g : new Graph[] {m.graph(), m.forInference().graph()}) {
      String in = g.inputs().get(0).name();
      for (int threads : new int[] {1, 2}) {
        Executor ex = new Executor(g, threads);
        long reusedBefore = Arena.current().reused();
        for (int b : BATCHES) {
          Map<String, Tensor> feeds = Map.of(in, all.slice0(0, b));
          Map<String, float[]> off = new LinkedHashMap<>(), on = new LinkedHashMap<>();
          Map<String, Tensor> outOff = withArena(false, () -> ex.run(feeds, copying(off, threads), false));
          Map<String, Tensor> outOn = withArena(true, () -> ex.run(feeds, copying(on, threads), false));
          String where = file + " threads " + threads + " batch " + b;
          assertEquals(off.keySet(), on.keySet(), where);
          off.forEach((k, v) -> assertBits(v, on.get(k), where + " value " + k));
          assertEquals(outOff.keySet(), outOn.keySet());
          outOff.forEach((k, v) -> assertBits(v.data(), outOn.get(k).data(), where + " output " + k));
          // and without an observer, the plain run the evaluation uses
          Map<String, Tensor> plain = withArena(true, () -> ex.run(feeds));
          outOff.forEach((k, v) -> assertBits(v.data(), plain.get(k).data(), where + " plain output " + k));
        }
        if (threads == 1) {
          assertTrue(Arena.current().reused() > reusedBefore, "the arena was not used on " + file);
        }
        assertTrue(Arena.current().pooledBytes() <= Arena.CAPACITY_BYTES);
      }
    }
  }

  /**
   * Flatten shares its input's array: the array goes back only when both values are dead, not
   * when the first is (an Add of the same length would otherwise get it while the Flatten's
   * output is still to be read), and a graph output that shares it is never given back.
   */
  @org.junit.jupiter.api.Test
  void aliasedArraysGoBackOnlyWhenEveryValueIsDead(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    OnnxBuilder b = new OnnxBuilder(13, 13);
    b.input("x", "N", 4, 2, 2);
    String a = b.op("Relu", OnnxBuilder.in("x"));
    String r = b.op("Flatten", OnnxBuilder.in(a), "axis", 1L);
    String sum = b.op("Add", OnnxBuilder.in("x", "x"));
    String fs = b.op("Flatten", OnnxBuilder.in(sum), "axis", 1L);
    String c = b.op("Add", OnnxBuilder.in(r, fs));
    String d = b.op("Relu", OnnxBuilder.in(c));
    String e = b.op("Flatten", OnnxBuilder.in(d), "axis", 1L);
    String f = b.op("Neg", OnnxBuilder.in(c));
    String out = b.op("Add", OnnxBuilder.in(e, f));
    b.output(out).output(r);
    Model m = Model.load(b.write(dir.resolve("alias.onnx")));
    Executor ex = new Executor(m.graph());
    float[] xs = new float[3 * 16];
    for (int i = 0; i < xs.length; i++) xs[i] = (i % 7) - 3.5f + i * 0.01f;
    Tensor x = Tensor.of(xs, 3, 4, 2, 2);
    Map<String, Tensor> want = withArena(false, () -> ex.run(Map.of("x", x)));
    for (int i = 0; i < 3; i++) {
      Map<String, Tensor> got = withArena(true, () -> ex.run(Map.of("x", x)));
      want.forEach((k, v) -> assertBits(v.data(), got.get(k).data(), "alias graph run " + " output " + k));
    }
  }

  /**
   * The paths of the ops that take unzeroed arrays which resnet_s and mbv2_s do not reach: a
   * depthwise 5x5 conv (through the dense kernel), a strided 1x1 conv, a grouped conv, Mul
   * broadcast over channels, Sub of a scalar, Clip, Sigmoid and a global average pool, over
   * batches of changing size with NaN in every reused array.
   */
  @org.junit.jupiter.api.Test
  void otherPathsWriteEveryElementToo(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    OnnxBuilder b = new OnnxBuilder(13, 7);
    b.input("x", "N", 4, 9, 9);
    String c1 = b.conv("x", 4, 8, 3, 1);
    String dw = b.op("Conv", OnnxBuilder.in(c1, b.weights(0.2f, 8, 1, 5, 5), b.weights(0.1f, 8)),
        "kernel_shape", new long[] {5, 5}, "pads", new long[] {2, 2, 2, 2}, "group", 8L);
    String gr = b.op("Conv", OnnxBuilder.in(dw, b.weights(0.2f, 8, 4, 3, 3)), "kernel_shape", new long[] {3, 3},
        "pads", new long[] {1, 1, 1, 1}, "group", 2L);
    String s2 = b.conv(gr, 8, 6, 1, 2);
    String mul = b.op("Mul", OnnxBuilder.in(s2, b.constant(new float[] {1, -2, 3, 0.5f, -1, 2}, 1, 6, 1, 1)));
    String sub = b.op("Sub", OnnxBuilder.in(mul, b.constant(new float[] {0.25f})));
    String clip = b.op("Clip", OnnxBuilder.in(sub, b.constant(new float[] {-1f}), b.constant(new float[] {2f})));
    String sig = b.op("Sigmoid", OnnxBuilder.in(clip));
    String gap = b.op("GlobalAveragePool", OnnxBuilder.in(sig));
    b.output(gap).output(clip);
    Model m = Model.load(b.write(dir.resolve("paths.onnx")));
    java.util.Random rnd = new java.util.Random(3);
    Arena.poison(true);
    try {
      for (Graph g : new Graph[] {m.graph(), m.forInference().graph()}) {
        Executor ex = new Executor(g); // this thread, whose pool the runs share
        long reusedBefore = Arena.current().reused();
        for (int n : BATCHES) {
          float[] xs = new float[n * 4 * 81];
          for (int i = 0; i < xs.length; i++) xs[i] = (float) rnd.nextGaussian();
          Tensor x = Tensor.of(xs, n, 4, 9, 9);
          Map<String, Tensor> want = withArena(false, () -> ex.run(Map.of("x", x)));
          // eight poisoned arrays of every value's length in the pool, so that each op's output is one
          Arena arena = Arena.current();
          arena.open();
          try {
            Map<String, Tensor> all = withArena(false, () -> ex.run(Map.of("x", x), TensorObserver.NONE, true));
            List<float[]> taken = new ArrayList<>();
            for (Tensor t : all.values()) {
              for (int i = 0; i < 8 && t.isFloat(); i++) taken.add(Arena.overwritten(t.size()));
            }
            taken.forEach(arena::release);
          } finally {
            arena.close();
          }
          Map<String, Tensor> got = withArena(true, () -> ex.run(Map.of("x", x)));
          want.forEach((k, v) -> assertBits(v.data(), got.get(k).data(), "batch " + n + " output " + k));
        }
        assertTrue(Arena.current().reused() > reusedBefore, "no array was reused");
      }
    } finally {
      Arena.poison(false);
    }
  }

  /** Outputs returned to the caller are never handed out again: later runs leave them unchanged. */
  @ParameterizedTest
  @ValueSource(strings = {"resnet_s.onnx"})
  void returnedOutputsSurviveLaterRuns(String file) throws Exception {
    Model m = Model.load(Shared.model(file)).forInference();
    Executor ex = new Executor(m.graph());
    Tensor x = Shared.testImages(16);
    withArena(true, () -> {
      Tensor first = ex.run(x);
      float[] copy = first.data().clone();
      for (int i = 0; i < 3; i++) ex.run(x.slice0(i, i + 8));
      assertBits(copy, first.data(), "output of the first run");
      return null;
    });
  }

  @ParameterizedTest
  @ValueSource(strings = {"resnet_s.onnx", "mbv2_s.onnx"})
  void statisticsPassGivesTheSameHistograms(String file) throws Exception {
    Model m = Model.load(Shared.model(file)).forInference();
    Graph g = m.graph();
    String in = g.inputs().get(0).name();
    QuantPlan plan = QuantPlan.of(g, QuantConfig.defaults());
    Tensor all = Shared.testImages(64);
    for (int threads : new int[] {1, 2}) {
      Executor ex = new Executor(g, threads);
      byte[][] bytes = new byte[2][];
      for (int k = 0; k < 2; k++) {
        ActivationStats stats = new ActivationStats();
        assertFalse(stats.observer(plan).retainsValues());
        boolean on = k == 1;
        for (int b : BATCHES) {
          Map<String, Tensor> feeds = Map.of(in, all.slice0(64 - b, 64));
          withArena(on, () -> ex.run(feeds, stats.observer(plan), false));
          stats.addImages(b);
        }
        bytes[k] = stats.toByteArray();
      }
      assertArrayEquals(bytes[0], bytes[1], file + " threads " + threads + ": histograms differ with the arena");
    }
  }

  /** An observer that does not opt out keeps what it is shown, so nothing it holds is reused. */
  @ParameterizedTest
  @ValueSource(strings = {"mbv2_s.onnx"})
  void aRetainingObserverKeepsIntactValues(String file) throws Exception {
    Model m = Model.load(Shared.model(file)).forInference();
    Graph g = m.graph();
    String in = g.inputs().get(0).name();
    Executor ex = new Executor(g);
    Tensor all = Shared.testImages(32);
    List<Tensor> kept = new ArrayList<>();
    List<float[]> copies = new ArrayList<>();
    TensorObserver keeping = (node, name, t) -> {
      if (t.isFloat()) {
        kept.add(t);
        copies.add(t.data().clone());
      }
      return t;
    };
    assertTrue(keeping.retainsValues());
    withArena(true, () -> {
      ex.run(Map.of(in, all.slice0(0, 32)), TensorObserver.NONE, false); // warm the pool
      ex.run(Map.of(in, all.slice0(0, 32)), keeping, false);
      ex.run(Map.of(in, all.slice0(0, 32)), TensorObserver.NONE, false);
      ex.run(Map.of(in, all.slice0(0, 16)), TensorObserver.NONE, false);
      return null;
    });
    assertNotEquals(0, kept.size());
    for (int i = 0; i < kept.size(); i++) assertBits(copies.get(i), kept.get(i).data(), "kept value " + i);
  }

  /** Copies every value it sees (and keeps no tensor), so it may opt in to the arena. */
  private static TensorObserver copying(Map<String, float[]> into, int threads) {
    return new TensorObserver() {
      @Override
      public Tensor onValue(Node producer, String name, Tensor value) {
        if (value.isFloat()) {
          synchronized (into) {
            // two threads see the parts in either order: a part's value is keyed by its content
            // too, so a differing value shows as a differing key
            float[] d = value.data().clone();
            String key = threads == 1 ? name : name + "#" + value.shape()[0] + "#" + Arrays.hashCode(d);
            into.merge(key, d, (a, b) -> concat(a, b));
          }
        }
        return value;
      }

      @Override
      public boolean retainsValues() {
        return false;
      }
    };
  }

  private static float[] concat(float[] a, float[] b) {
    float[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  private static void assertBits(float[] want, float[] got, String what) {
    assertEquals(want.length, got.length, what + ": length");
    for (int i = 0; i < want.length; i++) {
      if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
        throw new AssertionError(what + ": element " + i + " is " + got[i] + " with the arena, " + want[i] + " without");
      }
    }
  }

  private interface Body<T> {
    T run() throws Exception;
  }

  private static <T> T withArena(boolean on, Body<T> body) throws Exception {
    boolean was = Executor.useArena(on);
    try {
      return body.run();
    } finally {
      Executor.useArena(was);
    }
  }
}
