package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.testing.Shared;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("slow")
class QuantPlanTest {
  static Graph resnet() {
    return Model.load(Shared.model("resnet_s.onnx")).forInference().graph();
  }

  @Test
  void dpuPointsOnTheFoldedGraph() {
    Graph g = resnet();
    QuantPlan p = QuantPlan.of(g, QuantConfig.defaults());
    // input + 15 fused convs + 6 adds + pool + gemm; Flatten shares the pool's point
    assertEquals(1 + 15 + 6 + 1 + 1, p.activations().size());
    assertEquals(2 * 16, p.params().size(), "weight and bias of 15 convs and the gemm");
    Node flatten = g.nodes().stream().filter(n -> n.opType().equals("Flatten")).findFirst().orElseThrow();
    assertEquals(p.pointOf(flatten.input(0)), p.pointOf(flatten.outputs().get(0)));
    assertEquals(Rounding.HALF_AWAY, p.activations().get(0).rounding(), "network input rounds like weights");
  }

  @Test
  void concatInputsShareOnePoint() {
    Graph g = Model.load(Shared.model("imagenet/googlenet.onnx")).forInference().graph();
    QuantPlan p = QuantPlan.of(g, QuantConfig.defaults());
    Node concat = g.nodes().stream().filter(n -> n.opType().equals("Concat")).findFirst().orElseThrow();
    String point = p.pointOf(concat.outputs().get(0));
    assertEquals(concat.outputs().get(0), point, "the Concat output decides");
    for (String in : concat.inputs()) assertEquals(point, p.pointOf(in), in);
  }

  @Test
  void outputNodesLeaveTheHeadFloat() {
    Graph g = resnet();
    Node gemm = g.nodes().stream().filter(n -> n.opType().equals("Gemm")).findFirst().orElseThrow();
    Node pool = g.producer(g.producer(gemm.input(0)).input(0));
    QuantPlan p = QuantPlan.of(g, QuantConfig.defaults().withRegion(List.of(), List.of(pool.name())));
    assertNull(p.pointOf(gemm.outputs().get(0)), "the classifier stays float");
    assertNotNull(p.pointOf(pool.outputs().get(0)));
    assertTrue(p.params().stream().noneMatch(x -> x.node().equals(gemm.name())));
  }

  @Test
  void inputNodesLeaveTheStemFloat() {
    Graph g = resnet();
    Node second = g.nodes().get(1);
    QuantPlan p = QuantPlan.of(g, QuantConfig.defaults().withRegion(List.of(second.name()), List.of()));
    assertNull(p.pointOf(g.inputs().get(0).name()));
    assertNotNull(p.pointOf(second.input(0)), "the region's first tensor is quantized like an input");
    assertFalse(p.params().stream().anyMatch(x -> x.node().equals(g.nodes().get(0).name())));
  }

  @Test
  void unknownRegionNamesAreErrors() {
    GraphException e = assertThrows(GraphException.class,
        () -> QuantPlan.of(resnet(), QuantConfig.defaults().withRegion(List.of("nope"), List.of())));
    assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
  }
}
