package io.qspark.kernels.target;

import static io.qspark.kernels.testing.TinyNet.attrs;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.testing.Shared;
import io.qspark.kernels.testing.TinyNet;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Partitions of the shared models and of small models built to miss one DPU limit each. */
class PartitionerTest {
  static final DpuTarget B4096 = DpuTarget.resolve("b4096");
  static final DpuTarget GENERIC = DpuTarget.resolve("generic-int8");

  static Graph inference(TinyNet t, String... outputs) {
    return Model.prepare(t.graph(outputs), "tiny", "", "test").forInference().graph();
  }

  static Stream<String> sharedModels() {
    return Stream.of("resnet_s.onnx", "resnet_s_fused.onnx", "resnet_s_imb.onnx", "mbv2_s.onnx", "mbv2_s_fused.onnx",
        "imagenet/resnet18.onnx", "imagenet/mobilenet_v2.onnx", "imagenet/googlenet.onnx");
  }

  /** Every shared model is made of ops a B4096 runs within its limits: one DPU call, no hand-over. */
  @Tag("slow")
  @ParameterizedTest
  @MethodSource("sharedModels")
  void sharedModelsRunWhollyOnTheDpu(String name) {
    Graph g = Model.load(Shared.model(name)).forInference().graph();
    for (DpuTarget t : List.of(B4096, GENERIC)) {
      Partition p = Partitioner.partition(g, t);
      List<String> cpu = p.placements().stream().filter(x -> !x.dpu()).map(x -> x.name() + ": " + x.reason()).toList();
      assertAll(name + " on " + t.name(),
          () -> assertEquals(List.of(), cpu),
          () -> assertEquals(1, p.subgraphs().size()),
          () -> assertEquals(g.nodes().size(), p.subgraphs().get(0).nodes().size()),
          () -> assertEquals(0, p.transitions()),
          () -> assertEquals(List.of(g.inputs().get(0).name()), p.subgraphs().get(0).inputs()),
          () -> assertEquals(g.outputs(), p.subgraphs().get(0).outputs()));
    }
  }

  @Tag("slow")
  @Test
  void sharedModelReasons() {
    Graph g = Model.load(Shared.model("resnet_s.onnx")).forInference().graph();
    Partition p = Partitioner.partition(g, B4096);
    assertEquals("DPU conv +relu", p.reason("/stem/stem.0/Conv"));
    String relu = g.nodes().stream().filter(n -> n.opType().equals("Relu")).findFirst().orElseThrow().name();
    String add = g.producer(g.nodes().stream().filter(n -> n.name().equals(relu)).findFirst().orElseThrow().input(0)).name();
    assertEquals("DPU: relu fused into " + add, p.reason(relu), "ReLU after an Add rides on the eltwise");
    String gap = g.nodes().stream().filter(n -> n.opType().equals("GlobalAveragePool")).findFirst().orElseThrow().name();
    assertEquals("DPU average pool (global, 7x7)", p.reason(gap));
    Graph mb = Model.load(Shared.model("imagenet/mobilenet_v2.onnx")).forInference().graph();
    Partition q = Partitioner.partition(mb, B4096);
    long dw = q.placements().stream().filter(x -> x.opClass() == OpClass.DEPTHWISE_CONV).count();
    assertEquals(17, dw, "MobileNetV2's 17 depthwise convs map to the depthwise engine");
    assertTrue(q.placements().stream().filter(x -> x.opClass() == OpClass.DEPTHWISE_CONV)
        .allMatch(x -> x.reason().equals("DPU depthwise conv +relu6")));
  }

  /** Softmax between two convs: two DPU calls and a hand-over each way. */
  @Test
  void softmaxInTheMiddle() {
    TinyNet t = new TinyNet(-1, 3, 16, 16);
    String c1 = t.conv("c1", "x", 3, 8, 3, 2, 1, 1);
    String sm = t.op("sm", "Softmax", attrs("axis", 1L), t.op("r1", "Relu", c1));
    String c2 = t.conv("c2", sm, 8, 8, 3, 1, 1, 1);
    String fc = t.gemm("fc", t.op("flat", "Flatten", t.op("gap", "GlobalAveragePool", t.op("r2", "Relu", c2))), 8, 10);
    Partition p = Partitioner.partition(inference(t, fc), B4096);
    assertEquals("Softmax not supported on DPU", p.reason("sm"));
    assertFalse(p.onDpu("sm"));
    for (String n : List.of("c1", "c2", "gap", "flat", "fc")) assertTrue(p.onDpu(n), n + ": " + p.reason(n));
    assertEquals("DPU: Flatten between DPU ops (layout only)", p.reason("flat"));
    assertEquals("DPU fully connected (as a 1x1 conv)", p.reason("fc"));
    assertEquals(2, p.subgraphs().size());
    assertEquals(List.of("c1"), p.subgraphs().get(0).nodes());
    assertEquals(List.of("r1"), p.subgraphs().get(0).outputs(), "the fused conv's output is its ReLU's");
    assertEquals(List.of("c2", "gap", "flat", "fc"), p.subgraphs().get(1).nodes());
    assertEquals(List.of("sm"), p.subgraphs().get(1).inputs());
    assertEquals(1, p.dpuToCpu());
    assertEquals(1, p.cpuToDpu());
    assertEquals(2, p.transitions());
  }

  /** A 9x9 conv on a target whose convs stop at 8: that conv alone goes to the CPU. */
  @Test
  void kernelLargerThanTheTargetAllows() {
    TinyNet t = new TinyNet(-1, 3, 16, 16);
    String c1 = t.op("r1", "Relu", t.conv("c1", "x", 3, 8, 3, 1, 1, 1));
    String c2 = t.op("r2", "Relu", t.conv("c2", c1, 8, 8, 9, 1, 4, 1));
    String c3 = t.conv("c3", c2, 8, 4, 3, 1, 1, 1);
    Graph g = inference(t, c3);
    Partition k8 = Partitioner.partition(g, DpuTarget.parse(DpuTargetTest.small(8), "k8.yaml"));
    assertEquals("Conv k=9 > 8", k8.reason("c2"));
    assertTrue(k8.onDpu("c1") && k8.onDpu("c3"));
    assertEquals(2, k8.subgraphs().size());
    assertEquals(2, k8.transitions());
    Partition b = Partitioner.partition(g, B4096);
    assertEquals("DPU conv +relu", b.reason("c2"), "the B4096 takes kernels up to 16");
    assertEquals(0, b.transitions());
  }

  @Test
  void convLimitsAreNamedExactly() {
    TinyNet t = new TinyNet(-1, 144, 16, 16);
    t.conv("big", "x", 144, 4, 17, 9, 8, 1);
    t.conv("pad", "x", 144, 4, 3, 1, 3, 1);
    t.conv("wide", "x", 144, 5000, 1, 1, 0, 1);
    t.conv("deep", "x", 144, 1, 16, 1, 0, 1);
    t.conv("grouped", "x", 144, 8, 1, 1, 0, 2);
    t.conv("dw", "x", 144, 144, 3, 1, 1, 144);
    Graph g = inference(t, "big", "pad", "wide", "deep", "grouped", "dw");
    Partition p = Partitioner.partition(g, B4096);
    assertEquals("Conv k=17 > 16, s=9 > 8, k_h·k_w·ceil(ic/16) = 17·17·9 = 2601 > bank depth 2048", p.reason("big"));
    assertEquals("Conv pad 3 > (k-1)·dilation = 2", p.reason("pad"));
    assertEquals("Conv output channels 5000 > 4096", p.reason("wide"));
    assertEquals("Conv k_h·k_w·ceil(ic/16) = 16·16·9 = 2304 > bank depth 2048", p.reason("deep"));
    assertEquals("Conv group=2 (72 input channels per group): grouped convs other than depthwise not supported on DPU",
        p.reason("grouped"));
    assertEquals("DPU depthwise conv", p.reason("dw"));
    Partition q = Partitioner.partition(g, GENERIC);
    assertEquals("DPU conv", q.reason("grouped"), "generic-int8 runs grouped convs");
    assertEquals("DPU conv", q.reason("big"));
  }

  /** Stand-alone activations run on the DPU only fused into a producer that takes them. */
  @Test
  void standAloneActivations() {
    TinyNet t = new TinyNet(-1, 8, 8, 8);
    String a = t.conv("a", "x", 8, 8, 3, 1, 1, 1);
    String b = t.conv("b", "x", 8, 8, 3, 1, 1, 1);
    String add = t.op("add", "Add", a, b);
    t.op("add_relu", "Relu", add);
    t.op("hs", "HardSwish", t.conv("c", "x", 8, 8, 3, 1, 1, 1));
    t.op("hsig", "HardSigmoid", attrs("alpha", 0.2f, "beta", 0.5f), t.conv("d", "x", 8, 8, 3, 1, 1, 1));
    t.op("dw_hs", "HardSwish", t.conv("dw", "x", 8, 8, 3, 1, 1, 8));
    t.op("sig", "Sigmoid", t.conv("e", "x", 8, 8, 3, 1, 1, 1));
    t.op("x_relu", "Relu", "x");
    Graph g = inference(t, "add_relu", "hs", "hsig", "dw_hs", "sig", "x_relu");
    Partition p = Partitioner.partition(g, B4096);
    assertEquals("DPU: relu fused into add", p.reason("add_relu"));
    assertEquals("HardSwish after c (Conv): the DPU fuses hard_swish without a quantization point between, qspark"
        + " quantizes it as a layer of its own, which runs on the CPU", p.reason("hs"));
    assertEquals("HardSigmoid alpha=0.2, beta=0.5 is not the DPU's hard-sigmoid (relu6(x + 3) / 6: alpha=1/6, beta=0.5)",
        p.reason("hsig"));
    assertEquals("HardSwish (hard_swish) not among depthwise conv activations (relu, relu6)", p.reason("dw_hs"));
    assertEquals("Sigmoid not supported on DPU", p.reason("sig"));
    assertEquals("Relu of the model input (the DPU fuses activations into the op before)", p.reason("x_relu"));
  }

  /**
   * A DPU op reading both a DPU value and a CPU op's result of that value cannot join the first
   * DPU call: the call would wait on the CPU op that waits on it.
   */
  @Test
  void subgraphsAreConvex() {
    TinyNet t = new TinyNet(-1, 8, 8, 8);
    String c1 = t.conv("c1", "x", 8, 8, 3, 1, 1, 1);
    String sm = t.op("sm", "Softmax", attrs("axis", 1L), c1);
    String c2 = t.conv("c2", t.op("add", "Add", c1, sm), 8, 8, 1, 1, 0, 1);
    Partition p = Partitioner.partition(inference(t, c2), B4096);
    assertTrue(p.onDpu("add"));
    assertEquals(2, p.subgraphs().size());
    assertEquals(List.of("c1"), p.subgraphs().get(0).nodes());
    assertEquals(List.of("add", "c2"), p.subgraphs().get(1).nodes());
    assertEquals(List.of("c1", "sm"), p.subgraphs().get(1).inputs());
    assertEquals(2, p.transitions(), "c1 out to the CPU once (Softmax), Softmax back in once");
  }

  /** Reshapes follow their neighbours: one between CPU ops stays there, adding no hand-over. */
  @Test
  void reshapesFollowTheirNeighbours() {
    TinyNet t = new TinyNet(-1, 8, 4, 4);
    String sm = t.op("sm", "Softmax", attrs("axis", 1L), t.conv("c1", "x", 8, 8, 3, 1, 1, 1));
    String flat = t.op("flat", "Flatten", sm);
    t.gemm("fc", flat, 128, 10);
    String flat2 = t.op("flat2", "Flatten", t.conv("c2", "x", 8, 8, 3, 1, 1, 1));
    t.op("sm2", "Softmax", flat2);
    Partition p = Partitioner.partition(inference(t, "fc", "sm2"), B4096);
    assertEquals("Flatten after CPU op sm (Softmax)", p.reason("flat"));
    assertEquals("Flatten feeding CPU op sm2 (Softmax)", p.reason("flat2"));
    assertTrue(p.onDpu("fc"));
  }
}
