package io.qspark.kernels.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.graph.Attributes;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.graph.Node;
import io.qspark.kernels.passes.GatedActivations;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.TinyNet;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Cast, whose ONNX vectors all use types qspark does not hold (float16, double, string), on
 * values worked out by hand from C's conversions; and which Sigmoid·Mul and HardSigmoid·Mul pairs
 * are activations.
 */
class ExportFormsOpsTest {
  private static Tensor cast(Tensor x, long to) {
    return new Cast(Attributes.empty().with("to", to)).forward(new Tensor[] {x})[0];
  }

  @Test
  void castTruncatesWrapsAndTestsForZero() {
    Tensor f = Tensor.of(new float[] {2.9f, -2.9f, 0f, 300.5f, -0.4f}, 5);
    assertArrayEquals(new long[] {2, -2, 0, 300, 0}, cast(f, 7).longs()); // int64: toward zero
    assertArrayEquals(new long[] {2, 254, 0, 44, 0}, cast(f, 2).longs()); // uint8: truncated, then mod 256
    assertArrayEquals(new long[] {2, -2, 0, 44, 0}, cast(f, 3).longs()); // int8: 300 - 256
    assertArrayEquals(new long[] {1, 1, 0, 1, 1}, cast(f, 9).longs()); // bool: x != 0
    Tensor l = Tensor.ofLongs(new long[] {-1, 128, 70000}, 3);
    assertArrayEquals(new long[] {255, 128, 112}, cast(l, 2).longs());
    assertArrayEquals(new long[] {-1, -128, 112}, cast(l, 3).longs());
    assertArrayEquals(new long[] {-1, 128, 4464}, cast(l, 5).longs()); // int16: 70000 - 65536
    assertArrayEquals(new float[] {-1f, 128f, 70000f}, cast(l, 1).data());
    assertTrue(cast(f, 11).isFloat()); // double is held as float
    String msg = assertThrows(OpException.class, () -> new Cast(Attributes.empty().with("to", 10L))).getMessage();
    assertTrue(msg.contains("float16"), msg);
  }

  @Test
  void onlyAGateOfTheMulsOwnOtherInputIsAnActivation() {
    TinyNet t = new TinyNet(-1, 4, 8, 8);
    String c = t.conv("c", "x", 4, 4, 3, 1, 1, 1);
    String d = t.conv("d", "x", 4, 4, 1, 1, 0, 1);
    String silu = t.op("silu", "Mul", t.op("sig", "Sigmoid", c), c);
    String hswish = t.op("hswish", "Mul", d, t.op("hsig", "HardSigmoid", TinyNet.attrs("alpha", 1f / 6, "beta", 0.5f), d));
    String gate = t.op("gate", "Mul", c, t.op("sig2", "Sigmoid", d)); // squeeze-excite style: stays
    String other = t.op("other", "Mul", d, t.op("hsig2", "HardSigmoid", TinyNet.attrs("alpha", 0.2f, "beta", 0.5f), d));
    String shared = t.op("sig3", "Sigmoid", c);
    String kept = t.op("kept", "Mul", c, shared); // its gate is also an output: the gate stays
    Graph g = GatedActivations.apply(t.graph(silu, hswish, gate, other, kept, shared));
    List<String> ops = g.nodes().stream().map(n -> n.name() + ":" + n.opType()).collect(Collectors.toList());
    assertTrue(ops.containsAll(List.of("silu:Silu", "hswish:HardSwish", "gate:Mul", "other:Mul", "kept:Silu", "sig3:Sigmoid")),
        ops.toString());
    assertTrue(ops.stream().noneMatch(o -> o.startsWith("sig:") || o.startsWith("hsig:")), ops.toString());
    Node s = g.nodes().stream().filter(n -> n.name().equals("silu")).findFirst().orElseThrow();
    assertEquals(OpRegistry.QSPARK_DOMAIN, s.domain());
    assertEquals(List.of("c"), s.inputs());
  }
}
