package io.qspark.job;

import static io.qspark.kernels.testing.TinyNet.attrs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.testing.Shared;
import io.qspark.kernels.testing.TinyNet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** `inspect --target`: per-node DPU/CPU with the reason, subgraphs and hand-overs, as text and JSON. */
@Tag("slow")
class InspectTargetTest {
  @TempDir Path dir;

  /** conv -> Softmax -> conv -> pool -> fc: the Softmax splits the model into two DPU calls. */
  Path softmaxInTheMiddle() throws IOException {
    TinyNet t = new TinyNet(-1, 3, 16, 16);
    String c1 = t.op("r1", "Relu", t.conv("c1", "x", 3, 8, 3, 2, 1, 1));
    String sm = t.op("sm", "Softmax", attrs("axis", 1L), c1);
    String c2 = t.op("r2", "Relu", t.conv("c2", sm, 8, 8, 3, 1, 1, 1));
    String fc = t.gemm("fc", t.op("flat", "Flatten", t.op("gap", "GlobalAveragePool", c2)), 8, 10);
    return t.write(dir.resolve("softmax-mid.onnx"), fc);
  }

  @Test
  void textNamesUnitReasonSubgraphsAndTransitions() throws IOException {
    Run r = Run.of("inspect", "--model", softmaxInTheMiddle().toString(), "--target", "b4096");
    assertEquals(0, r.code(), r.err());
    String out = r.out();
    assertTrue(out.contains("graph    inference (BatchNorm folded, activations fused)"), out);
    assertTrue(out.contains("target   b4096, DPUCZDX8G B4096 (UG1414 limits) (conf/targets/b4096.yaml)"), out);
    assertTrue(out.matches("(?s).*\\n0  c1 +Conv .*k=3x3 s=2 p=1 \\+Relu .* dpu0  DPU conv \\+relu\\n.*"), out);
    assertTrue(out.matches("(?s).*\\n1  sm +Softmax .* CPU   Softmax not supported on DPU\\n.*"), out);
    assertTrue(out.contains("on DPU       5 of 6 nodes, 100.0% of MACs"), out);
    assertTrue(out.contains("subgraphs    2 on the DPU"), out);
    assertTrue(out.contains("transitions  2 (1 DPU->CPU, 1 CPU->DPU)"), out);
    assertTrue(out.matches("(?s).*\\ndpu0 +1  c1 +c1 +x +r1\\n.*"), out);
    assertTrue(out.matches("(?s).*\\ndpu1 +4  c2 +fc +sm +fc\\n.*"), out);
  }

  @Test
  void jsonHasTheSamePartition() throws Exception {
    Run r = Run.of("inspect", "--json", "--model", softmaxInTheMiddle().toString(), "--target", "b4096");
    assertEquals(0, r.code(), r.err());
    JsonNode j = new ObjectMapper().readTree(r.out());
    JsonNode sm = j.get("nodes").get(1);
    assertEquals("sm", sm.get("name").asText());
    assertEquals("CPU", sm.get("unit").asText());
    assertTrue(sm.get("subgraph").isNull());
    assertEquals("Softmax not supported on DPU", sm.get("reason").asText());
    JsonNode c1 = j.get("nodes").get(0);
    assertEquals("DPU", c1.get("unit").asText());
    assertEquals("dpu0", c1.get("subgraph").asText());
    assertEquals("conv", c1.get("dpu_op").asText());
    JsonNode p = j.get("partition");
    assertEquals("b4096", p.get("target").get("name").asText());
    assertEquals(2, p.get("transitions").asInt());
    assertEquals(2, p.get("subgraphs").size());
    assertEquals("[\"c2\",\"gap\",\"flat\",\"fc\"]", p.get("subgraphs").get(1).get("nodes").toString());
    assertEquals("[\"sm\"]", p.get("subgraphs").get(1).get("inputs").toString());
  }

  /** A target file by path: a 9x9 conv where convs stop at 8. */
  @Test
  void targetFileByPath() throws IOException {
    TinyNet t = new TinyNet(-1, 3, 16, 16);
    String c1 = t.op("r1", "Relu", t.conv("c1", "x", 3, 8, 3, 1, 1, 1));
    String c2 = t.conv("c2", c1, 8, 4, 9, 1, 4, 1);
    Path model = t.write(dir.resolve("k9.onnx"), c2);
    Path target = Files.writeString(dir.resolve("k8.yaml"), Files.readString(repo().resolve("conf/targets/b4096.yaml"))
        .replace("name: b4096", "name: k8").replace("    kernel: [1, 16]\n    stride: [1, 8]\n    max_channels: 4096 #",
            "    kernel: [1, 8]\n    stride: [1, 8]\n    max_channels: 4096 #"));
    Run r = Run.of("inspect", "--model", model.toString(), "--target", target.toString(), "--json");
    assertEquals(0, r.code(), r.err());
    JsonNode nodes = new ObjectMapper().readTree(r.out()).get("nodes");
    assertEquals("Conv k=9 > 8", nodes.get(1).get("reason").asText());
    assertEquals("DPU conv +relu", nodes.get(0).get("reason").asText(), "the first conv's 3x3 is within [1, 8]");
  }

  /** The acceptance check on every shared model: one DPU call, every node on the DPU, no hand-over. */
  @ParameterizedTest
  @ValueSource(strings = {"resnet_s.onnx", "resnet_s_fused.onnx", "resnet_s_imb.onnx", "mbv2_s.onnx",
      "mbv2_s_fused.onnx", "imagenet/resnet18.onnx", "imagenet/mobilenet_v2.onnx", "imagenet/googlenet.onnx"})
  void sharedModelsOnB4096(String name) throws Exception {
    Path model = Shared.model(name);
    Run r = Run.of("inspect", "--json", "--model", model.toString(), "--target", "b4096");
    assertEquals(0, r.code(), r.err());
    JsonNode j = new ObjectMapper().readTree(r.out());
    int nodes = Model.load(model).forInference().graph().nodes().size();
    assertEquals(nodes, j.get("nodes").size(), "the inference graph's nodes");
    for (JsonNode n : j.get("nodes")) assertEquals("DPU", n.get("unit").asText(), n.toString());
    assertEquals(nodes, j.get("partition").get("dpu_nodes").asInt());
    assertEquals(1, j.get("partition").get("subgraphs").size());
    assertEquals(0, j.get("partition").get("transitions").asInt());
  }

  @Test
  void badTargetsAreOneLineUserErrors() throws IOException {
    String m = CliErrorsTest.userError("inspect", "--model", Run.sampleModel(), "--target", "b9999");
    assertEquals("qspark: error: unknown target 'b9999': neither a bundled target (b4096, generic-int8) nor a YAML file", m);
    Path bad = Files.writeString(dir.resolve("bad.yaml"), Files.readString(repo().resolve("conf/targets/b4096.yaml"))
        .replace("bank_depth: 2048", "bank_depht: 2048").replace("stride: [1, 8]", "stride: 8"));
    m = CliErrorsTest.userError("inspect", "--model", Run.sampleModel(), "--target", bad.toString());
    CliErrorsTest.assertContains(m, "qspark: error: " + bad + ": ", "unknown key 'bank_depht'",
        "missing key 'bank_depth'", "ops.conv.stride: expected [min, max] with 1 <= min <= max, got 8");
  }

  private static Path repo() {
    return Path.of(System.getProperty("user.dir")).getParent();
  }
}
