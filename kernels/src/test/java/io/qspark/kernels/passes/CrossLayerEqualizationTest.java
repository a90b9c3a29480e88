package io.qspark.kernels.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.ops.Activation;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import io.qspark.kernels.testing.Top1;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Tag("slow")
class CrossLayerEqualizationTest {

  private static Graph inference(String model) {
    return Model.load(Shared.model(model)).forInference().graph();
  }

  /** Largest |difference| of two logit tensors relative to the largest |logit|. */
  private static double relativeDifference(Tensor a, Tensor b) {
    double diff = 0, scale = 0;
    for (int i = 0; i < a.size(); i++) {
      diff = Math.max(diff, Math.abs(a.data()[i] - b.data()[i]));
      scale = Math.max(scale, Math.abs(a.data()[i]));
    }
    return diff / scale;
  }

  @ParameterizedTest
  @ValueSource(strings = {"resnet_s.onnx", "mbv2_s.onnx", "resnet_s_imb.onnx"})
  void equalizedModelComputesTheSameFunction(String model) throws Exception {
    Graph g = inference(model);
    CrossLayerEqualization.Result r = CrossLayerEqualization.apply(g, CrossLayerEqualization.Relu6.KEEP);
    assertFalse(r.pairs().isEmpty(), "no pair equalized in " + model);
    assertTrue(r.relu6Replaced().isEmpty());
    Tensor x = Shared.testImages(256);
    double d = relativeDifference(new Executor(g, 2).run(x), new Executor(r.graph(), 2).run(x));
    assertTrue(d < 1e-5, model + ": logits moved by " + d + " of their range");
    // and the weights did change where a pair was equalized
    Node first = node(r.graph(), r.pairs().get(0).first());
    assertFalse(java.util.Arrays.equals(g.initializers().get(first.input(1)).data(),
        r.graph().initializers().get(first.input(1)).data()));
  }

  @Test
  void residualBlocksEqualizeOnlyTheInnerPair() {
    CrossLayerEqualization.Result r = CrossLayerEqualization.apply(inference("resnet_s.onnx"), CrossLayerEqualization.Relu6.KEEP);
    // one pair per residual block (c1 -> c2); the block outputs feed an Add and the next block
    assertEquals(6, r.pairs().size(), r.pairs().toString());
    for (CrossLayerEqualization.Pair p : r.pairs()) {
      assertTrue(p.first().contains("/c1/") && p.second().contains("/c2/"), p.toString());
    }
    assertTrue(r.skipped().stream().anyMatch(s -> s.startsWith("/stem/") && s.contains("Add")), r.skipped().toString());
  }

  @Test
  void equalizedChannelsHaveMatchingRanges() {
    Graph g = CrossLayerEqualization.apply(inference("resnet_s_imb.onnx"), CrossLayerEqualization.Relu6.KEEP).graph();
    CrossLayerEqualization.Result again = CrossLayerEqualization.apply(g, CrossLayerEqualization.Relu6.KEEP);
    // a converged graph is a fixed point: one sweep changes nothing
    assertEquals(1, again.sweeps());
  }

  @Test
  void relu6IsKeptByDefaultAndReplacedOnlyWhenAsked() throws Exception {
    Graph g = inference("mbv2_s.onnx");
    CrossLayerEqualization.Result keep = CrossLayerEqualization.apply(g, CrossLayerEqualization.Relu6.KEEP);
    assertTrue(keep.skipped().stream().anyMatch(s -> s.contains("ReLU6")), keep.skipped().toString());
    for (CrossLayerEqualization.Pair p : keep.pairs()) {
      assertEquals(null, Activation.fused(node(g, p.first()).attributes()), p + " goes through an activation");
    }
    CrossLayerEqualization.Result relu = CrossLayerEqualization.apply(g, CrossLayerEqualization.Relu6.TO_RELU);
    assertTrue(relu.pairs().size() > keep.pairs().size());
    assertFalse(relu.relu6Replaced().isEmpty());
    for (String name : relu.relu6Replaced()) {
      assertEquals(Activation.Kind.RELU, Activation.fused(node(relu.graph(), name).attributes()).kind());
    }
    // the replaced model is a different function: equalizing it exactly, with its own ReLUs
    Graph asRelu = relu.graph();
    Tensor x = Shared.testImages(256);
    Graph unequalizedRelu = withReluFor(g, relu.relu6Replaced());
    assertTrue(relativeDifference(new Executor(unequalizedRelu, 2).run(x), new Executor(asRelu, 2).run(x)) < 1e-5);
  }

  @Test
  void equalizationRescuesThePerTensorQuantizationOfTheImbalancedModel() throws Exception {
    Graph g = CrossLayerEqualization.apply(inference("resnet_s_imb.onnx"), CrossLayerEqualization.Relu6.KEEP).graph();
    Tensor calib = Shared.images("train-images-idx3-ubyte.gz", 1000);
    Tensor test = Shared.testImages(10_000);
    int[] labels = Shared.testLabels(10_000);
    double top8 = Top1.quantized(Top1.calibrate(g, QuantConfig.defaults().withBits(8), calib), test, labels);
    double top6 = Top1.quantized(Top1.calibrate(g, QuantConfig.defaults().withBits(6), calib), test, labels);
    System.out.printf("resnet_s_imb with CLE: 8 bits %.2f, 6 bits %.2f%n", top8, top6);
    assertTrue(top8 >= 92.8, "8 bits: " + top8);
    assertTrue(top6 >= 92.5, "6 bits: " + top6);
  }

  private static Graph withReluFor(Graph g, java.util.List<String> names) {
    java.util.List<Node> nodes = new java.util.ArrayList<>();
    for (Node n : g.nodes()) {
      if (!names.contains(n.name())) {
        nodes.add(n);
        continue;
      }
      var m = new java.util.LinkedHashMap<>(n.attributes().asMap());
      m.remove(Activation.FUSED_MIN);
      m.remove(Activation.FUSED_MAX);
      m.put(Activation.FUSED, "Relu");
      nodes.add(new Node(n.name(), n.opType(), n.domain(), n.inputs(), n.outputs(), new io.qspark.kernels.graph.Attributes(m)));
    }
    return g.withNodes(nodes, g.initializers());
  }

  private static Node node(Graph g, String name) {
    return g.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
  }
}
