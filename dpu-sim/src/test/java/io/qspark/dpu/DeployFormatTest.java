package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.dpu.proto.DeployProto;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.dpu.proto.DeployProto.Op;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.passes.InferencePasses;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.Rounding;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Gaussian;
import io.qspark.kernels.testing.TinyNet;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The deploy model checks itself when read: its content digest, and every field's range
 * (dpu-sim/README.md) even when the digest was recomputed after the edit; models written before
 * the digest, and version-1 models, read as before; version 2's features (eltwise multiply,
 * CPU layers with several outputs, batch chunks) checked, and refused in a version-1 model; the
 * simulator's shift helpers refuse shifts Java would mask.
 */
class DeployFormatTest {
  static DeployModel good;
  static Tensor input;

  /** The bundled resnet_s, calibrated on random inputs: conv, fc, eltwise add, average pooling, reshape. */
  @BeforeAll
  static void compile() {
    Model m = Model.load(Path.of("../samples/resnet_s.onnx")).forInference();
    QuantConfig cfg = QuantConfig.defaults();
    QuantPlan plan = QuantPlan.of(m.graph(), cfg);
    ActivationStats stats = new ActivationStats();
    Random r = new Random(3);
    float[] x = new float[16 * 28 * 28];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    input = Tensor.of(x, 16, 1, 28, 28);
    new Executor(m.graph()).run(Map.of(m.graph().inputs().get(0).name(), input), stats.observer(plan), false);
    QuantParams params = QuantParams.decide(m.graph(), plan, stats.histograms(), cfg);
    good = DeployCompiler.compile(m.graph(), cfg, params, m.sha256());
  }

  /** The digest is the sha256 of the file's bytes before the digest field (field 10, written last: tag, length, 64 hex digits). */
  @Test
  void digestIsTheSha256OfTheModelWithoutIt() throws Exception {
    byte[] file = good.toByteArray();
    assertEquals(10 << 3 | 2, file[file.length - 66] & 0xff, "field 10, length-delimited");
    assertEquals(64, file[file.length - 65]);
    String written = new String(file, file.length - 64, 64, StandardCharsets.US_ASCII);
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(file, file.length - 66)));
    assertEquals(sha, written);
    assertEquals(good, DeployFormat.parse(file, "good.pb"));
  }

  @Test
  void aFlippedWeightByteIsRefused() {
    byte[] file = good.toByteArray();
    int at = indexOf(file, conv("").getWeights().toByteArray());
    file[at + 5] ^= 1;
    String msg = refused(file);
    assertTrue(msg.contains("does not match the sha256"), msg);
  }

  /** A model written before the digest existed reads, and its ranges are still checked. */
  @Test
  void modelsWithoutTheDigestStillReadWithTheirRangesChecked() {
    DeployModel old = good.toBuilder().clearContentSha256().build();
    assertFalse(DeployFormat.sealed(old));
    assertEquals(old, DeployFormat.parse(old.toByteArray(), "old.pb"));
    String msg = refused(edit(layer(Op.CONV), l -> l.setShiftCut(40)).toBuilder().clearContentSha256().build().toByteArray());
    assertTrue(msg.contains("shift_cut 40"), msg);
  }

  @Test
  void shiftsOutsideTheirRangesAreRefusedEvenWhenResealed() {
    String conv = layer(Op.CONV);
    for (int cut : new int[] {40, -5, Integer.MAX_VALUE}) {
      String msg = refused(DeployFormat.seal(edit(conv, l -> l.setShiftCut(cut))).toByteArray());
      assertTrue(msg.contains("shift_cut " + cut), msg);
    }
    // a consistent but out-of-range shift_cut: the output's fix_point moved so far the cut is 17
    Layer c = conv(conv);
    int in = value(c.getInputs(0)).getFixPoint();
    int out = in + c.getWeightFixPoint() - 17;
    DeployModel far = good.toBuilder().clearValues().addAllValues(good.getValuesList().stream()
        .map(v -> v.getName().equals(c.getOutput()) ? v.toBuilder().setFixPoint(out).build() : v).toList()).build();
    far = edit(far, conv, l -> l.setShiftCut(17));
    String msg = refused(DeployFormat.seal(far).toByteArray());
    assertTrue(msg.contains("shift_cut 17 outside [0, 16]"), msg);

    String add = layer(Op.ELTWISE_ADD);
    msg = refused(DeployFormat.seal(edit(add, l -> l.setInputShifts(0, 64))).toByteArray());
    assertTrue(msg.contains("shifts input 0 by 64"), msg);
    msg = refused(DeployFormat.seal(edit(add, l -> l.setOutputShift(l.getOutputShift() + 64))).toByteArray());
    assertTrue(msg.contains("output_shift"), msg);
    msg = refused(DeployFormat.seal(edit(layer(Op.AVG_POOL), l -> l.setAvgShift(99))).toByteArray());
    assertTrue(msg.contains("avg_shift 99"), msg);
  }

  @Test
  void bitWidthsFixPointsAndClipLimitsOutsideTheirRangesAreRefused() {
    String someInt = conv(layer(Op.CONV)).getOutput();
    for (int bits : new int[] {0, 1, 17, 64}) {
      String msg = refused(DeployFormat.seal(editValue(someInt, v -> v.setBits(bits))).toByteArray());
      assertTrue(msg.contains("bit width " + bits + " outside [2, 16]"), msg);
    }
    String msg = refused(DeployFormat.seal(editValue(someInt, v -> v.setFixPoint(65))).toByteArray());
    assertTrue(msg.contains("fix_point 65 outside [-64, 64]"), msg);
    for (float[] lim : new float[][] {{Float.NaN, 6}, {0, Float.NaN}, {6, 0}, {Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY}}) {
      msg = refused(DeployFormat.seal(edit(layer(Op.CONV), l -> l.setActivation(DeployProto.Activation.CLIP_ACT)
          .setActMin(lim[0]).setActMax(lim[1]))).toByteArray());
      assertTrue(msg.contains("clips to [" + lim[0] + ", " + lim[1] + "], not a range"), msg);
    }
    // a one-sided clip (no lower limit) is a range
    DeployModel oneSided = DeployFormat.seal(edit(layer(Op.CONV), l -> l.setActivation(DeployProto.Activation.CLIP_ACT)
        .setActMin(Float.NEGATIVE_INFINITY).setActMax(6)));
    DeployFormat.parse(oneSided.toByteArray(), "one-sided.pb");
  }

  @Test
  void sizesInconsistentWithShapesAreRefused() {
    String conv = layer(Op.CONV);
    String msg = refused(DeployFormat.seal(edit(conv, l -> l.setWeights(l.getWeights().substring(1)))).toByteArray());
    assertTrue(msg.contains("weights for shape"), msg);
    msg = refused(DeployFormat.seal(edit(conv, l -> l.setStrides(0, 3))).toByteArray());
    assertTrue(msg.contains("writes shape"), msg);
    msg = refused(DeployFormat.seal(edit(conv, l -> l.addBias(1))).toByteArray());
    assertTrue(msg.contains("biases for"), msg);
    String out = conv(conv).getOutput();
    msg = refused(DeployFormat.seal(editValue(out, v -> v.setShape(1, v.getShape(1) + 1))).toByteArray());
    assertTrue(msg.contains("layer '"), msg);
  }

  /** Java's shifts take the count mod 64: the helpers refuse counts outside [-62, 62] instead. */
  @Test
  void shiftHelpersRefuseWhatJavaWouldMask() {
    assertEquals(1L << 40, IntegerOps.roundShift(1, -40, Rounding.HALF_UP));
    assertEquals(0, IntegerOps.roundShift(1L << 40, 62, Rounding.HALF_UP));
    for (int s : new int[] {63, 64, -63, -64, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
      assertThrows(DeployException.class, () -> IntegerOps.roundShift(5, s, Rounding.HALF_UP), "shift " + s);
    }
    int[] y = new int[1];
    assertThrows(DeployException.class, () -> IntegerOps.add(new int[][] {{1}, {1}}, new int[] {64, 0}, 0, 8, Rounding.HALF_UP, y));
    assertThrows(DeployException.class, () -> IntegerOps.add(new int[][] {{1}, {1}}, new int[] {-1, 0}, 0, 8, Rounding.HALF_UP, y));
    assertThrows(DeployException.class, () -> FastIntegerOps.add2(new int[] {1}, new int[] {1}, -1, 0, 0, 8, Rounding.HALF_UP, y));
    assertThrows(DeployException.class,
        () -> new IntegerOps.Requant(0, 64, IntegerOps.Requant.NONE, 0, 0, 0, new FixPoint(8, 0, Rounding.HALF_UP)));
    assertThrows(DeployException.class,
        () -> new IntegerOps.Requant(-70, 0, IntegerOps.Requant.NONE, 0, 0, 0, new FixPoint(8, 0, Rounding.HALF_UP)));
    assertThrows(DeployException.class,
        () -> new FastIntegerOps.Requantizer(0, -1, IntegerOps.Requant.RELU, 0, 0, 0, new FixPoint(8, 0, Rounding.HALF_UP)));
  }

  /** Version 1 (no batch_chunk, ELTWISE_MUL or extra outputs) reads and runs as version 2; versions 0 and 3 are refused. */
  @Test
  void versionOneModelsReadAndOtherVersionsAreRefused() {
    assertEquals(2, good.getFormatVersion(), "deploy writes version 2");
    DeployModel v1 = DeployFormat.parse(DeployFormat.seal(good.toBuilder().setFormatVersion(1).build()).toByteArray(), "v1.pb");
    assertEquals(1, v1.getFormatVersion());
    assertArrayEquals(new Simulator(good).run(input).ints(), new Simulator(v1).run(input).ints());
    // as version 1 was written: without a digest
    DeployFormat.parse(good.toBuilder().setFormatVersion(1).clearContentSha256().build().toByteArray(), "v1.pb");
    for (int v : new int[] {0, 3, -1}) {
      String msg = refused(DeployFormat.seal(good.toBuilder().setFormatVersion(v).build()).toByteArray());
      assertTrue(msg.contains("has deploy format version " + Integer.toUnsignedString(v) + "; this qspark reads versions 1 and 2"), msg);
    }
  }

  /**
   * An eltwise multiply of two quantized inputs, built by hand: q = round(x·16) (half away), the
   * product shifted right by 4 + 4 − 4 = 4 and rounded half up, saturated to 8 bits.
   */
  @Test
  void eltwiseMultiplyReadsAtVersionTwoOnlyAndComputesTheRoundedProduct() {
    DeployModel m = multiply(2);
    DeployFormat.parse(m.toByteArray(), "mul.pb");
    // x·y: 0.5·0.75 = 6/16; -1.25·2 = -40/16; 5·7 = 35 -> 2.1875 -> 2; -5·7 -> -2.1875 -> -2; 127·127 = 16129 -> 1008 -> 127
    Tensor x = Tensor.of(new float[] {0.5f, -1.25f, 0.3125f, -0.3125f, 7.9375f}, 1, 5);
    Tensor y = Tensor.of(new float[] {0.75f, 2f, 0.4375f, 0.4375f, 7.9375f}, 1, 5);
    for (boolean reference : new boolean[] {false, true}) {
      assertArrayEquals(new int[] {6, -40, 2, -2, 127}, new Simulator(m, reference).run(Map.of("x", x, "y", y)).get("z").ints());
    }
    String msg = refused(multiply(1).toByteArray());
    assertTrue(msg.contains("layer 'mul' is an ELTWISE_MUL, which format version 1 does not have"), msg);

    msg = refused(DeployFormat.seal(edit(m, "mul", l -> l.addInputs("xq"))).toByteArray());
    assertTrue(msg.contains("has 3 inputs, not 2"), msg);
    msg = refused(DeployFormat.seal(edit(m, "mul", l -> l.setOutputShift(5))).toByteArray());
    assertTrue(msg.contains("output_shift 5 but the fix_points give 4"), msg);
    msg = refused(DeployFormat.seal(edit(m, "mul", l -> l.addInputShifts(0).addInputShifts(0))).toByteArray());
    assertTrue(msg.contains("multiplies but has input_shifts"), msg);
    // consistent, but the output's fix_point so coarse the shift is 63 (or so fine it is -49): outside [-32, 62]
    // (a product of two 16-bit integers, below 2^30, shifted left by 32 stays inside a long)
    for (int outFp : new int[] {-55, 57}) {
      int shift = 8 - outFp;
      DeployModel far = edit(withFixPoint(m, "z", outFp), "mul", l -> l.setOutputShift(shift));
      msg = refused(DeployFormat.seal(far).toByteArray());
      assertTrue(msg.contains("output_shift " + shift + " outside [-32, 62]"), msg);
    }
  }

  /** Every input of a batch: the same number of images, checked before a batch is cut into chunks. */
  @Test
  void inputsFedDifferentBatchesAreRefused() {
    Simulator sim = new Simulator(multiply(2));
    DeployException e = assertThrows(DeployException.class, () -> sim.run(Map.of("x", Tensor.zeros(2, 5), "y", Tensor.zeros(3, 5))));
    assertTrue(e.getMessage().contains("input 'y' is fed a batch of 3 and input 'x' one of 2"), e.getMessage());
    e = assertThrows(DeployException.class, () -> sim.run(Map.of("x", Tensor.zeros(2, 5))));
    assertTrue(e.getMessage().contains("no value fed for input 'y'"), e.getMessage());
  }

  /** A Split on the CPU writes two values: they must exist, be written once, and only a CPU layer writes several. */
  @Test
  void extraOutputsAreCheckedAndRefusedInVersionOne() {
    DeployModel m = split();
    Layer split = m.getLayersList().stream().filter(l -> l.getExtraOutputsCount() > 0).findFirst().orElseThrow();
    assertEquals(Op.CPU, split.getOp());
    String extra = split.getExtraOutputs(0);
    String msg = refused(DeployFormat.seal(m.toBuilder().setFormatVersion(1).build()).toByteArray());
    assertTrue(msg.contains("layer '" + split.getName() + "' has several outputs, which format version 1 does not have"), msg);

    msg = refused(DeployFormat.seal(edit(m, split.getName(), l -> l.setExtraOutputs(0, "nowhere"))).toByteArray());
    assertTrue(msg.contains("writes 'nowhere', which has no value"), msg);
    msg = refused(DeployFormat.seal(edit(m, split.getName(), l -> l.addExtraOutputs(extra))).toByteArray());
    assertTrue(msg.contains("writes '" + extra + "', which is already written"), msg);
    msg = refused(DeployFormat.seal(edit(m, split.getName(), l -> l.setExtraOutputs(0, split.getOutput()))).toByteArray());
    assertTrue(msg.contains("writes '" + split.getOutput() + "', which is already written"), msg);
    msg = refused(DeployFormat.seal(edit(m, split.getName(), l -> l.clearExtraOutputs())).toByteArray());
    assertTrue(msg.contains("has 1 inputs and 1 outputs, its model 1 inputs, 2 outputs"), msg);
    String conv = m.getLayersList().stream().filter(l -> l.getOp() == Op.CONV).findFirst().orElseThrow().getName();
    msg = refused(DeployFormat.seal(edit(m, conv, l -> l.addExtraOutputs(extra))).toByteArray());
    assertTrue(msg.contains("layer '" + conv + "' is not a CPU layer but has several outputs"), msg);
  }

  /** batch_chunk: never negative, absent from version 1, and the batch the inputs were exported with. */
  @Test
  void batchChunksAreCheckedAndRefusedInVersionOne() {
    String msg = refused(DeployFormat.seal(good.toBuilder().setBatchChunk(-2).build()).toByteArray());
    assertTrue(msg.contains("it has batch_chunk -2"), msg);
    msg = refused(DeployFormat.seal(good.toBuilder().setFormatVersion(1).setBatchChunk(4).build()).toByteArray());
    assertTrue(msg.contains("it has batch_chunk 4, which format version 1 does not have"), msg);
    String in = good.getInputs(0);
    msg = refused(DeployFormat.seal(good.toBuilder().setBatchChunk(4).build()).toByteArray());
    assertTrue(msg.contains("it runs in chunks of 4 images but input '" + in + "' has shape [-1, 1, 28, 28]"), msg);
  }

  /** The simulator checks what it is fed against the input value's shape. */
  @Test
  void feedsOfAnotherShapeAreRefused() {
    Simulator sim = new Simulator(good);
    assertEquals(16 * 10, sim.run(input).ints().length);
    DeployException e = assertThrows(DeployException.class, () -> sim.run(Tensor.zeros(2, 1, 28, 27)));
    assertTrue(e.getMessage().contains("fed shape [2, 1, 28, 27]"), e.getMessage());
  }

  /** x, y float [-1, 5] quantized at fix_point 4 and multiplied into z (fix_point 4): sealed, at the given version. */
  private static DeployModel multiply(int version) {
    DeployModel.Builder b = DeployModel.newBuilder().setMagic(DeployFormat.MAGIC).setFormatVersion(version)
        .addInputs("x").addInputs("y").addOutputs("z");
    for (String v : new String[] {"x", "y"}) {
      b.addValues(DeployProto.Value.newBuilder().setName(v).addShape(-1).addShape(5));
      b.addValues(DeployProto.Value.newBuilder().setName(v + "q").setInteger(true).setBits(8).setFixPoint(4).addShape(-1).addShape(5));
      b.addLayers(Layer.newBuilder().setName(v + "/quantize").setOp(Op.QUANTIZE).addInputs(v).setOutput(v + "q")
          .setRounding(DeployProto.Rounding.HALF_AWAY));
    }
    b.addValues(DeployProto.Value.newBuilder().setName("z").setInteger(true).setBits(8).setFixPoint(4).addShape(-1).addShape(5));
    b.addLayers(Layer.newBuilder().setName("mul").setOp(Op.ELTWISE_MUL).addInputs("xq").addInputs("yq").setOutput("z")
        .setOutputShift(4).setRounding(DeployProto.Rounding.HALF_UP));
    return DeployFormat.seal(b.build());
  }

  /** A conv, a Split on the CPU (B4096: one layer writing both parts), a conv on each part, their concat; compiled and read. */
  private static DeployModel split() {
    TinyNet t = new TinyNet(-1, 4, 8, 8);
    String a = t.conv("a", "x", 4, 8, 3, 1, 1, 1);
    String[] parts = t.ops("split", "Split", TinyNet.attrs("axis", 1L, "split", new long[] {3, 5}), 2, a);
    String p = t.conv("p", parts[0], 3, 4, 3, 1, 1, 1);
    String q = t.conv("q", parts[1], 5, 4, 1, 1, 0, 1);
    Graph g = InferencePasses.apply(t.graph(t.op("cat", "Concat", TinyNet.attrs("axis", 1L), p, q)));
    Random rnd = new Random(4);
    return MultiOutputDeployTest.deployAndCompare(g, Map.of("x", Gaussian.tensor(rnd, 8, 4, 8, 8)),
        Map.of("x", Gaussian.tensor(rnd, 2, 4, 8, 8))).model();
  }

  private static DeployModel withFixPoint(DeployModel m, String value, int fixPoint) {
    DeployModel.Builder b = m.toBuilder();
    for (int i = 0; i < b.getValuesCount(); i++) {
      if (b.getValues(i).getName().equals(value)) b.setValues(i, b.getValues(i).toBuilder().setFixPoint(fixPoint));
    }
    return b.build();
  }

  private static String refused(byte[] file) {
    DeployException e = assertThrows(DeployException.class, () -> DeployFormat.parse(file, "bad.pb"));
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    assertTrue(e.getMessage().startsWith("bad.pb "), e.getMessage());
    return e.getMessage();
  }

  /** The first layer of an op. */
  private static String layer(Op op) {
    return good.getLayersList().stream().filter(l -> l.getOp() == op).findFirst().orElseThrow().getName();
  }

  private static Layer conv(String name) {
    return good.getLayersList().stream().filter(l -> name.isEmpty() ? l.getOp() == Op.CONV : l.getName().equals(name))
        .findFirst().orElseThrow();
  }

  private static DeployProto.Value value(String name) {
    return good.getValuesList().stream().filter(v -> v.getName().equals(name)).findFirst().orElseThrow();
  }

  private static DeployModel edit(String layer, UnaryOperator<Layer.Builder> change) {
    return edit(good, layer, change);
  }

  private static DeployModel edit(DeployModel m, String layer, UnaryOperator<Layer.Builder> change) {
    DeployModel.Builder b = m.toBuilder();
    for (int i = 0; i < b.getLayersCount(); i++) {
      if (b.getLayers(i).getName().equals(layer)) b.setLayers(i, change.apply(b.getLayers(i).toBuilder()));
    }
    return b.build();
  }

  private static DeployModel editValue(String value, UnaryOperator<DeployProto.Value.Builder> change) {
    DeployModel.Builder b = good.toBuilder();
    for (int i = 0; i < b.getValuesCount(); i++) {
      if (b.getValues(i).getName().equals(value)) b.setValues(i, change.apply(b.getValues(i).toBuilder()));
    }
    return b.build();
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
      return i;
    }
    throw new AssertionError("not found");
  }
}
