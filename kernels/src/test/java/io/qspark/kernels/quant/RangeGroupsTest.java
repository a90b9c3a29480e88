package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.testing.JavaSerialization;
import io.qspark.kernels.testing.Shared;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link RangeGroups} on the network input point of resnet_s (8 bits, mse), with values whose
 * choices follow by hand:
 *
 * <ul>
 *   <li>run A, 10^6 values uniform in [-0.9, 0.9]: no-overflow fix_point 7 (127/128 >= 0.9);
 *       at 8 the range is +-0.5 and a third of the values clip, so mse keeps 7.
 *   <li>run B, {1.5, 0.25, -0.5}: every value on the 2^-6 grid inside 127/64, so fix_point 6
 *       costs (nearly: values stand at their bin's midpoint) nothing while 7 clips 1.5 to 0.99
 *       (0.26 squared error): 6.
 *   <li>both as one histogram: at 6 the grid costs 10^6 * 2^-12 / 12 = 20.3, at 7 10^6 *
 *       2^-14 / 12 = 5.1 plus B's clipped 0.26: 7, so the rare large value is clipped.
 * </ul>
 * The widest of the runs' choices is therefore 6 where the plain choice is 7.
 */
class RangeGroupsTest {
  private static final Graph GRAPH = Model.load(Shared.model("resnet_s.onnx")).forInference().graph();
  private static final QuantConfig CFG = QuantConfig.defaults();
  private static final QuantPlan PLAN = QuantPlan.of(GRAPH, CFG);
  private static final String INPUT = PLAN.activations().get(0).name();

  private static ActivationStats stats(float[] values) {
    ActivationStats s = new ActivationStats();
    s.histograms().put(INPUT, new Histogram());
    s.histograms().get(INPUT).update(values);
    return s;
  }

  private static float[] uniform(int n, long seed) {
    Random r = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) (r.nextDouble() * 1.8 - 0.9);
    return x;
  }

  private static final float[] B = {1.5f, 0.25f, -0.5f};

  private static int chosen(RangeGroups g, ActivationStats whole) {
    return g.choices(PLAN, CFG, whole.histograms()).get(INPUT).fixPoint();
  }

  @Test
  void theWidestRunChoiceKeepsTheRareLargeValue() {
    float[] a = uniform(1_000_000, 1);
    ActivationStats whole = stats(a).merge(stats(B));
    assertEquals(7, QuantParams.activation(GRAPH, PLAN.activations().get(0), whole.histograms().get(INPUT), CFG).fixPoint(),
        "one histogram clips B's 1.5");
    RangeGroups g = new RangeGroups();
    g.decided(stats(a), PLAN, CFG);
    assertEquals(7, chosen(g, whole), "run A alone");
    g.decided(stats(B), PLAN, CFG);
    assertEquals(6, chosen(g, whole), "run B widens it");
  }

  @Test
  void runsSplitOverBuffersGiveTheSameChoice() throws Exception {
    float[] a = uniform(1_000_000, 2);
    float[] a1 = java.util.Arrays.copyOfRange(a, 0, 300_000), a2 = java.util.Arrays.copyOfRange(a, 300_000, a.length);
    ActivationStats whole = stats(a).merge(stats(B));
    // B split over two buffers: neither part alone asks for 6 beyond what the whole run does
    float[] b1 = {1.5f}, b2 = {0.25f, -0.5f};
    RangeGroups x = new RangeGroups(), y = new RangeGroups(), z = new RangeGroups();
    x.partial(0, stats(a1));
    x.partial(1, stats(b1));
    y.partial(0, stats(a2));
    z.partial(1, stats(b2));
    RangeGroups xyz = new RangeGroups().merge(x).merge(y).merge(z);
    RangeGroups zyx = new RangeGroups().merge(JavaSerialization.roundTrip(z)).merge(JavaSerialization.roundTrip(y)).merge(JavaSerialization.roundTrip(x));
    assertEquals(2, xyz.partialRuns());
    assertEquals(6, chosen(xyz, whole));
    assertEquals(xyz.choices(PLAN, CFG, whole.histograms()), zyx.choices(PLAN, CFG, whole.histograms()));
    // run A decided in a task, run B's parts merged on the driver
    RangeGroups mixed = new RangeGroups();
    mixed.decided(stats(a), PLAN, CFG);
    mixed.merge(JavaSerialization.roundTrip(z)).merge(JavaSerialization.roundTrip(x));
    assertEquals(xyz.choices(PLAN, CFG, whole.histograms()), mixed.choices(PLAN, CFG, whole.histograms()));
  }

  @Test
  void runsAreConsecutiveAndBalanced() {
    // 10 images in 4 runs: i * 4 / 10 -> 0 0 0 1 1 2 2 2 3 3
    int[] expected = {0, 0, 0, 1, 1, 2, 2, 2, 3, 3};
    for (int i = 0; i < 10; i++) assertEquals(expected[i], RangeGroups.groupOf(i, 10, 4), "image " + i);
    long[] first = {0, 3, 5, 8, 10};
    for (int g = 0; g <= 4; g++) assertEquals(first[g], RangeGroups.firstOf(g, 10, 4), "run " + g);
    // more runs than images: every image its own run, the others empty
    assertEquals(2, RangeGroups.groupOf(1, 3, 8));
    assertEquals(Map.of(), new RangeGroups().choices(PLAN, CFG, Map.of()));
  }

}
