package io.qspark.job.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.base.UserError;
import io.qspark.kernels.io.Json;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Given steps against a folder's recorded ones: fill, agree, contradict, override; and the record's JSON form. */
class PreprocessSettingsTest {
  static final InputPreprocessing RECORDED = InputPreprocessing.ofPixels("input", new ImageGeometry(256, 224, 224),
      new Preprocessing(new float[] {123.68f, 116.78f, 103.94f}, new float[] {58.4f}, 255f, new int[] {2, 1, 0}),
      new int[] {3, 224, 224});

  static PreprocessSettings given(float[] mean, float[] std, Integer resize) {
    return new PreprocessSettings(mean, std, null, null, resize, null, false);
  }

  @Test
  void nothingGivenTakesTheRecord() {
    PreprocessSettings.Effective e = PreprocessSettings.NONE.resolve(RECORDED, "dir");
    assertEquals(PreprocessSettings.Origin.RECORDED, e.origin());
    assertEquals(RECORDED.geometry(), e.geometry());
    assertEquals(RECORDED.pixels(), e.pixels());
  }

  @Test
  void nothingGivenNorRecordedIsTheDefaults() {
    PreprocessSettings.Effective e = PreprocessSettings.NONE.resolve(null, null);
    assertEquals(PreprocessSettings.Origin.DEFAULTS, e.origin());
    assertTrue(e.pixels().isIdentity());
    assertTrue(e.geometry().isNone());
    assertEquals(PreprocessSettings.Origin.GIVEN, given(new float[] {1}, null, null).resolve(null, null).origin());
  }

  @Test
  void agreeingStepsChangeNothingAndOneValueStandsForEveryChannel() {
    PreprocessSettings g = given(null, new float[] {58.4f, 58.4f, 58.4f}, 256);
    assertEquals(RECORDED.pixels(), new Preprocessing(RECORDED.pixels().mean(), new float[] {58.4f}, 255f, new int[] {2, 1, 0}));
    PreprocessSettings.Effective e = g.resolve(RECORDED, "dir");
    assertEquals(PreprocessSettings.Origin.RECORDED, e.origin());
    assertArrayEquals(new float[] {58.4f, 58.4f, 58.4f}, e.pixels().std());
    assertArrayEquals(RECORDED.pixels().mean(), e.pixels().mean());
  }

  @Test
  void contradictionsAreNamedTogetherUnlessOverridden() {
    PreprocessSettings g = given(new float[] {0}, null, 232);
    UserError e = assertThrows(UserError.class, () -> g.resolve(RECORDED, "out/r18-dpu"));
    assertEquals("--resize 232 (recorded: 256), --mean 0 (recorded: 123.68,116.78,103.94) contradict the preprocessing"
        + " recorded in out/r18-dpu; leave them out to use the recorded steps, or pass --override-preprocessing", e.getMessage());
    PreprocessSettings.Effective o = g.withOverride(true).resolve(RECORDED, "out/r18-dpu");
    assertEquals(232, o.geometry().resize());
    assertEquals(224, o.geometry().cropHeight(), "not given: the record's");
    assertArrayEquals(new float[] {0}, o.pixels().mean());
    assertArrayEquals(new int[] {2, 1, 0}, o.pixels().channelSwap());
  }

  @Test
  @SuppressWarnings("unchecked")
  void theRecordReadsBackAsWrittenWithShortDecimals() {
    String json = Json.write(RECORDED.json());
    assertTrue(json.contains("123.68") && !json.contains("123.6800"), json);
    InputPreprocessing back = InputPreprocessing.fromJson((Map<String, Object>) Json.read(json), "f");
    assertEquals(RECORDED, back);
    assertEquals(List.of(224L, 224L), ((Map<String, Object>) Json.read(json)).get("crop"));
    InputPreprocessing inputs = InputPreprocessing.ofModelInputs("x", new int[] {4});
    assertEquals(inputs, InputPreprocessing.fromJson((Map<String, Object>) Json.read(Json.write(inputs.json())), "f"));
    assertThrows(UserError.class, () -> InputPreprocessing.fromJson(Map.of("source", "pixels"), "f"));
  }

  @Test
  void rawPixelsLookUnnormalizedAndScaledOnesDoNot() {
    float[] raw = new float[100];
    float[] unit = new float[100];
    for (int i = 0; i < 100; i++) {
      raw[i] = i * 2.5f; // 0..247.5: mean 123.75
      unit[i] = i / 99f - 0.5f;
    }
    assertTrue(PreprocessSettings.unnormalizedWarning(raw, 100).orElseThrow().contains("--mean and --std"));
    assertTrue(PreprocessSettings.unnormalizedWarning(unit, 100).isEmpty());
  }
}
