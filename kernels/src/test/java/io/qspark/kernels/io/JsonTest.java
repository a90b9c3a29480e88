package io.qspark.kernels.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
  @Test
  void roundTripsThroughAJsonParser() throws Exception {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", "/layer\"1\"\\conv\n\t\u0001é");
    m.put("shape", new int[] {-1, 3, 224, 224});
    m.put("macs", 1L << 40);
    m.put("nan", Double.NaN);
    m.put("list", List.of(1, "two", Map.of(), List.of()));
    m.put("flag", true);
    JsonNode j = new ObjectMapper().readTree(Json.write(m));
    assertEquals(m.get("name"), j.get("name").asText());
    assertEquals("[-1,3,224,224]", j.get("shape").toString());
    assertEquals(1L << 40, j.get("macs").asLong());
    assertEquals(true, j.get("nan").isNull());
    assertEquals("[1,\"two\",{},[]]", j.get("list").toString());
    assertEquals(true, j.get("flag").asBoolean());
  }
}
