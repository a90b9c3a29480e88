package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.model.Model;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** `inspect` on resnet_s: the table's totals, and JSON with the same facts. */
class InspectCommandTest {

  /**
   * MACs of one image computed here from the shapes alone, independently of Op.macs: a conv
   * does (C_in/group)*kh*kw per output element, a Gemm K per output element.
   */
  static long expectedMacs(Model m) {
    long total = 0;
    for (Node n : m.graph().nodes()) {
      int[] out = m.shape(n.outputs().get(0));
      long outElems = 1;
      for (int d : out) outElems *= Math.max(d, 1);
      int[] w = m.graph().initializers().get(n.input(1)) == null ? null : m.graph().initializers().get(n.input(1)).shape();
      if (n.opType().equals("Conv")) total += outElems * w[1] * w[2] * w[3];
      if (n.opType().equals("Gemm")) {
        boolean transB = n.attributes().getInt("transB", 0) != 0;
        total += outElems * (transB ? w[1] : w[0]);
      }
    }
    return total;
  }

  @Test
  void tableHasNodesAndTotals() {
    Model m = Model.load(Path.of(Run.sampleModel()));
    Run r = Run.of("inspect", "--model", Run.sampleModel());
    assertEquals(0, r.code(), r.err());
    String out = r.out();
    long macs = expectedMacs(m);
    assertTrue(macs > 20_000_000, "resnet_s does about 20M MACs per image, computed " + macs);
    assertTrue(out.contains("MACs/image  " + String.format(Locale.ROOT, "%,d", macs)), out);
    assertTrue(out.contains("nodes       " + m.graph().nodes().size()), out);
    assertTrue(out.matches("(?s).*parameters  [0-9,]+\n.*"), out);
    assertTrue(out.contains("op types    Conv 15, BatchNormalization 15, Relu 13, Add 6"), out);
    assertTrue(out.contains("/stem/stem.0/Conv"), out);
    assertTrue(out.contains("[N,16,28,28]"), "batch shown as N");
    assertTrue(out.contains("k=3x3 s=2 p=1 [32,16,3,3]"), "conv parameters with weight shape");
    assertTrue(out.contains("input [N,1,28,28]"), out);
  }

  @Test
  void jsonHasTheSameFacts() throws Exception {
    Model m = Model.load(Path.of(Run.sampleModel()));
    Run r = Run.of("inspect", "--json", "--model", Run.sampleModel());
    assertEquals(0, r.code(), r.err());
    JsonNode j = new ObjectMapper().readTree(r.out());
    JsonNode nodes = j.get("nodes");
    assertEquals(m.graph().nodes().size(), nodes.size());
    long sum = 0;
    long params = 0;
    for (JsonNode n : nodes) sum += n.get("macs").asLong();
    assertEquals(expectedMacs(m), j.get("totals").get("macs").asLong());
    assertEquals(sum, j.get("totals").get("macs").asLong());
    for (var t : m.graph().initializers().values()) if (t.isFloat()) params += t.size();
    assertEquals(params, j.get("totals").get("parameters").asLong());
    assertEquals(15, j.get("totals").get("op_types").get("Conv").asInt());
    assertEquals("[-1,1,28,28]", j.get("inputs").get(0).get("shape").toString());
    JsonNode first = nodes.get(0);
    assertEquals("Conv", first.get("op").asText());
    assertEquals("stem.0.weight", first.get("weights").get(0).get("name").asText());
    assertEquals("[-1,16,28,28]", first.get("outputs").get(0).get("shape").toString());
    assertEquals(m.sha256(), j.get("sha256").asText());
  }
}
