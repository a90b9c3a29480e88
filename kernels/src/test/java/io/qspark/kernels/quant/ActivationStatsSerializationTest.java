package io.qspark.kernels.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.testing.JavaSerialization;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A task's statistics buffer crosses to the driver by Java serialization, in its compact form. */
class ActivationStatsSerializationTest {
  @Test
  void javaSerializationRoundTripsExactlyInCompactForm() throws Exception {
    ActivationStats s = new ActivationStats();
    Random r = new Random(3);
    for (String name : new String[] {"a", "b", "c"}) {
      float[] v = new float[50_000];
      for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * Math.exp(r.nextGaussian() * 3));
      Histogram h = new Histogram();
      h.update(v);
      s.histograms().put(name, h);
    }
    s.addImages(7);
    byte[] bytes = JavaSerialization.bytes(s);
    ActivationStats back = JavaSerialization.roundTrip(s);
    assertEquals(7, back.images());
    assertEquals(s.histograms(), back.histograms());
    assertArrayEquals(s.toByteArray(), back.toByteArray());
    assertTrue(bytes.length < s.toByteArray().length + 512, "Java form " + bytes.length + " B, compact "
        + s.toByteArray().length + " B");
  }
}
