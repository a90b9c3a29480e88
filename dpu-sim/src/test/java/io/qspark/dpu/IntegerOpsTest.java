package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.kernels.ops.ConvGeometry;
import io.qspark.kernels.ops.ConvShape;
import io.qspark.kernels.ops.DpuAveragePool;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.Rounding;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Each integer op against values computed by hand, at rounding boundaries and saturation. */
class IntegerOpsTest {
  private static IntegerOps.Requant rq(int sb, int cut, int kind, double lo, double hi, int accFp, int outFp) {
    return new IntegerOps.Requant(sb, cut, kind, lo, hi, accFp, new FixPoint(8, outFp, Rounding.HALF_UP));
  }

  @Test
  void roundShiftRoundsHalfUpAwayAndEven() {
    // 5/2 = 2.5, -5/2 = -2.5, 7/4 = 1.75, -6/4 = -1.5
    assertEquals(3, IntegerOps.roundShift(5, 1, Rounding.HALF_UP));
    assertEquals(-2, IntegerOps.roundShift(-5, 1, Rounding.HALF_UP));
    assertEquals(-3, IntegerOps.roundShift(-5, 1, Rounding.HALF_AWAY));
    assertEquals(2, IntegerOps.roundShift(5, 1, Rounding.HALF_EVEN));
    assertEquals(-2, IntegerOps.roundShift(-5, 1, Rounding.HALF_EVEN));
    assertEquals(2, IntegerOps.roundShift(7, 2, Rounding.HALF_UP));
    assertEquals(-1, IntegerOps.roundShift(-6, 2, Rounding.HALF_UP));
    assertEquals(-2, IntegerOps.roundShift(-6, 2, Rounding.HALF_EVEN));
    assertEquals(-2, IntegerOps.roundShift(-7, 2, Rounding.HALF_UP)); // -1.75
    assertEquals(12, IntegerOps.roundShift(3, -2, Rounding.HALF_UP)); // left shift
    assertEquals(7, IntegerOps.roundShift(7, 0, Rounding.HALF_UP));
  }

  @Test
  void requantAlignsBiasShiftsAndSaturates() {
    // acc 100, bias 3 << 2 = 12: 112 / 2^4 = 7.0
    assertEquals(7, rq(2, 4, 0, 0, 0, 8, 4).apply(100, 3));
    // 104 / 16 = 6.5 -> 7 (half up); -104 / 16 = -6.5 -> -6
    assertEquals(7, rq(0, 4, 0, 0, 0, 8, 4).apply(104, 0));
    assertEquals(-6, rq(0, 4, 0, 0, 0, 8, 4).apply(-104, 0));
    // negative shift_bias: products move left instead, (10 << 1) + 1 = 21, 21 / 2^(2+1) = 2.625 -> 3
    assertEquals(3, rq(-1, 2, 0, 0, 0, 8, 6).apply(10, 1));
    // saturation at 127 and -128
    assertEquals(127, rq(0, 0, 0, 0, 0, 4, 4).apply(128, 0));
    assertEquals(-128, rq(0, 0, 0, 0, 0, 4, 4).apply(-129, 0));
    // ReLU before rounding
    assertEquals(0, rq(0, 1, IntegerOps.Requant.RELU, 0, 0, 4, 3).apply(-1, 0));
  }

  @Test
  void clipAndLeakyReluAsTheDpu() {
    // ReLU6 with acc at fix_point 4 (6 = 96), out fix_point 4: 100 clips to 96 -> 96
    assertEquals(96, rq(0, 0, IntegerOps.Requant.CLIP, 0, 6, 4, 4).apply(100, 0));
    assertEquals(96, rq(0, 0, IntegerOps.Requant.CLIP, 0, 6, 4, 4).apply(96, 0));
    // out fix_point -2: 6 * 2^-2 = 1.5 rounds half up to 2, as fake-quant rounds the clipped 6.0
    assertEquals(2, rq(0, 6, IntegerOps.Requant.CLIP, 0, 6, 4, -2).apply(1000, 0));
    // leaky: -100 * 26 / 256 = -10.15625 -> -10; -128 * 26/256 = -13 exactly; 50 -> 50
    assertEquals(-10, rq(0, 0, IntegerOps.Requant.LEAKY, 0, 0, 4, 4).apply(-100, 0));
    assertEquals(-13, rq(0, 0, IntegerOps.Requant.LEAKY, 0, 0, 4, 4).apply(-128, 0));
    assertEquals(50, rq(0, 0, IntegerOps.Requant.LEAKY, 0, 0, 4, 4).apply(50, 0));
    // -64 * 26/256 = -6.5 -> -6 (half up)
    assertEquals(-6, rq(0, 0, IntegerOps.Requant.LEAKY, 0, 0, 4, 4).apply(-64, 0));
  }

  @Test
  void eltwiseAddAlignsToTheFinestInput() {
    // a at fp 3, b at fp 5: a << 2 + b, to out fp 4: shift 1
    int[] out = new int[3];
    IntegerOps.add(new int[][] {{1, -1, 127}, {1, -1, 127}}, new int[] {2, 0}, 1, 8, Rounding.HALF_UP, out);
    // (4 + 1) / 2 = 2.5 -> 3; (-4 - 1) / 2 = -2.5 -> -2; (508 + 127) / 2 -> saturates
    assertArrayEquals(new int[] {3, -2, 127}, out);
  }

  @Test
  void averagePoolUsesTheDpuDivisor() {
    assertEquals(new DpuAveragePool(21, 10), DpuAveragePool.of(7, 7));
    assertEquals(new DpuAveragePool(7, 6), DpuAveragePool.of(3, 3));
    assertEquals(new DpuAveragePool(1, 4), DpuAveragePool.of(4, 4)); // a power of two divides exactly
    assertEquals(new DpuAveragePool(1, 1), DpuAveragePool.of(1, 2));
    // 3x3 window of 10s: sum 90, * 7 / 64 = 9.84375 -> 10; all 9s: 81 * 7 / 64 = 8.859 -> 9
    int[] x = new int[9];
    java.util.Arrays.fill(x, 10);
    int[] out = new int[1];
    ConvGeometry k3 = ConvGeometry.window(3, 3, 1, 1, 1, 1);
    ConvShape valid = new ConvShape(new int[] {1, 1, 3, 3}, new int[] {1, 1, 1, 1}, 1, k3, new int[4]);
    IntegerOps.pool(false, x, valid, new DpuAveragePool(7, 6), 8, Rounding.HALF_UP, out);
    assertEquals(10, out[0]);
    // a window sum of 64 * 7 = 448 / 64 = 7 exactly at the same fix_point; a tie: sum 32 * 7 = 224 / 64 = 3.5 -> 4
    java.util.Arrays.fill(x, 0);
    x[0] = 32;
    IntegerOps.pool(false, x, valid, new DpuAveragePool(7, 6), 8, Rounding.HALF_UP, out);
    assertEquals(4, out[0]);
    // max pooling ignores padding
    ConvShape padded = new ConvShape(new int[] {1, 1, 2, 2}, new int[] {1, 1, 1, 1}, 1, k3, new int[] {1, 1, 1, 1});
    IntegerOps.pool(true, new int[] {-5, -7, -9, -6}, padded, new DpuAveragePool(0, 0), 8, Rounding.HALF_UP, out);
    assertEquals(-5, out[0]);
  }

  @Test
  void convAndFcByHand() {
    // 1x1x3x3 input, one 2x2 kernel, stride 1, no pad: out[0,0] = 1*1 + 2*2 + 4*3 + 5*4 = 37
    int[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    byte[] w = {1, 2, 3, 4};
    int[] out = new int[4];
    ConvShape s = new ConvShape(new int[] {1, 1, 3, 3}, new int[] {1, 1, 2, 2}, 1, ConvGeometry.window(2, 2, 1, 1, 1, 1),
        new int[4]);
    IntegerOps.conv(x, w, new int[] {1}, s, rq(0, 1, 0, 0, 0, 0, 0), out);
    // (37 + 1) / 2 = 19; (47 + 1) / 2 = 24; (67 + 1) / 2 = 34; (77 + 1) / 2 = 39
    assertArrayEquals(new int[] {19, 24, 34, 39}, out);
    int[] y = new int[2];
    IntegerOps.fc(new int[] {127, -128}, 1, 2, new byte[] {127, 127, -128, -128}, 2, null, rq(0, 7, 0, 0, 0, 0, 0), y);
    // (127*127 - 128*127) / 128 = -0.99 -> -1; (-127*128 + 128*128) / 128 = 1
    assertArrayEquals(new int[] {-1, 1}, y);
  }

  /** The layer's bound as deploy writes it (AccumulatorBound), which the reader checks. */
  static long accumulatorBound(io.qspark.dpu.proto.DeployProto.Layer l, int inBits) {
    byte[] w = l.getWeights().toByteArray();
    int m = l.getWeightShape(0), k = w.length / m;
    long maxRow = 0, maxBias = 0;
    for (int o = 0; o < m; o++) {
      long s = 0;
      for (int i = 0; i < k; i++) s += Math.abs(w[o * k + i]);
      maxRow = Math.max(maxRow, s);
    }
    for (int b : l.getBiasList()) maxBias = Math.max(maxBias, Math.abs((long) b));
    return io.qspark.kernels.quant.AccumulatorBound.of(maxRow, inBits, maxBias, l.getHasBias() ? l.getShiftBias() : 0,
        l.getActivation() == io.qspark.dpu.proto.DeployProto.Activation.LEAKY_RELU);
  }

  @Test
  void fastConvEqualsReferenceOnRandomAndExtremeInputs() {
    Random rnd = new Random(7);
    for (int trial = 0; trial < 8; trial++) {
      int c = 4 + trial, m = trial % 2 == 0 ? c : 6, group = trial % 2 == 0 ? c : 1, h = 9, w = 7;
      boolean extreme = trial >= 3;
      var l = io.qspark.dpu.proto.DeployProto.Layer.newBuilder().setName("c").setOp(io.qspark.dpu.proto.DeployProto.Op.CONV)
          .addInputs("x").setOutput("y").setRounding(io.qspark.dpu.proto.DeployProto.Rounding.HALF_UP)
          .addKernel(3).addKernel(3).addStrides(1 + trial % 2).addStrides(1).addDilations(1).addDilations(1)
          .addPads(1).addPads(1).addPads(1).addPads(1).setGroup(group).setHasBias(true).setShiftBias(trial - 2)
          .setBiasFixPoint(3 + 6 - (trial - 2))
          .setShiftCut(6).setWeightFixPoint(6).setActivation(io.qspark.dpu.proto.DeployProto.Activation.forNumber(trial % 4))
          .setActMin(0f).setActMax(6f);
      int cg = c / group;
      byte[] wt = new byte[m * cg * 9];
      for (int i = 0; i < wt.length; i++) wt[i] = (byte) (extreme ? (i % 2 == 0 ? -128 : 127) : rnd.nextInt(256) - 128);
      l.setWeights(com.google.protobuf.ByteString.copyFrom(wt)).addWeightShape(m).addWeightShape(cg).addWeightShape(3).addWeightShape(3);
      for (int i = 0; i < m; i++) l.addBias(rnd.nextInt(256) - 128);
      l.setAccumulatorBound(accumulatorBound(l.build(), 8));
      int oh = (h + 2 - 3) / (1 + trial % 2) + 1;
      var model = io.qspark.dpu.proto.DeployProto.DeployModel.newBuilder().setMagic(DeployFormat.MAGIC).setFormatVersion(DeployFormat.VERSION)
          .addInputs("in")
          .addValues(io.qspark.dpu.proto.DeployProto.Value.newBuilder().setName("in").addShape(-1).addShape(c).addShape(h).addShape(w))
          .addValues(io.qspark.dpu.proto.DeployProto.Value.newBuilder().setName("x").setInteger(true).setBits(8).setFixPoint(3)
              .addShape(-1).addShape(c).addShape(h).addShape(w))
          .addValues(io.qspark.dpu.proto.DeployProto.Value.newBuilder().setName("y").setInteger(true).setBits(8).setFixPoint(3)
              .addShape(-1).addShape(m).addShape(oh).addShape(w))
          .addLayers(io.qspark.dpu.proto.DeployProto.Layer.newBuilder().setName("q").setOp(io.qspark.dpu.proto.DeployProto.Op.QUANTIZE)
              .addInputs("in").setOutput("x").setRounding(io.qspark.dpu.proto.DeployProto.Rounding.HALF_AWAY))
          .addLayers(l).addOutputs("y").build();
      model = DeployFormat.parse(model.toByteArray(), "test");
      float[] in = new float[2 * c * h * w];
      for (int i = 0; i < in.length; i++) in[i] = extreme ? (i % 3 == 0 ? -16f : 15.875f) : (float) rnd.nextGaussian() * 4;
      var t = io.qspark.kernels.tensor.Tensor.of(in, 2, c, h, w);
      int[] fast = new Simulator(model, false).run(t).ints();
      int[] ref = new Simulator(model, true).run(t).ints();
      assertArrayEquals(ref, fast, "trial " + trial);
    }
  }
}
