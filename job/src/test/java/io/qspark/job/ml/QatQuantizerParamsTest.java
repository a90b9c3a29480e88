package io.qspark.job.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.qspark.job.app.DataSettings;
import io.qspark.job.app.QatSettings;
import org.junit.jupiter.api.Test;

/** Every training setting of `qspark qat` is a Param of QatQuantizer, with qat's default and bounds. */
class QatQuantizerParamsTest {
  private static QatSettings settings(QatQuantizer q) {
    return q.setModelPath("m.onnx").setMean(new double[] {72.94}).setStd(new double[] {90.02})
        .settings(DataSettings.of("images"), "out");
  }

  @Test
  void defaultsAreQatsDefaults() {
    QatSettings s = settings(new QatQuantizer());
    assertEquals(-1, s.training().freezeBnStep());
    assertEquals(0.1, s.training().bnMomentum());
    assertEquals(1000, s.optimization().lrStepSize());
    assertEquals(0.1, s.optimization().lrGamma());
    assertEquals(1.0, s.thresholds().lrScale());
    assertEquals(0.0, s.distillWeight());
  }

  @Test
  void setParamsReachTheSettings() {
    QatSettings s = settings(new QatQuantizer().setFreezeBnStep(234).setBnMomentum(0.05).setSchedule("step")
        .setLrStepSize(50).setLrGamma(0.5).setLearnThresholds(true).setThresholdLrScale(10).setDistillWeight(0.25));
    assertEquals(234, s.training().freezeBnStep());
    assertEquals(0.05, s.training().bnMomentum());
    assertEquals(50, s.optimization().lrStepSize());
    assertEquals(0.5, s.optimization().lrGamma());
    assertEquals(10.0, s.thresholds().lrScale());
    assertEquals(0.25, s.distillWeight());
  }

  @Test
  void outOfRangeValuesAreRefusedNamingTheParam() {
    QatQuantizer q = new QatQuantizer();
    assertThrows(IllegalArgumentException.class, () -> q.setBnMomentum(0));
    assertThrows(IllegalArgumentException.class, () -> q.setFreezeBnStep(-2));
    assertThrows(IllegalArgumentException.class, () -> q.setLrStepSize(0));
    assertThrows(IllegalArgumentException.class, () -> q.setLrGamma(1.5));
    assertThrows(IllegalArgumentException.class, () -> q.setThresholdLrScale(0));
    assertThrows(IllegalArgumentException.class, () -> q.setDistillWeight(-0.1));
    assertThrows(IllegalArgumentException.class, () -> q.setDistillWeight(1.5));
  }
}
