package io.qspark.job.app;

import io.qspark.kernels.passes.CrossLayerEqualization;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link Finetune} does on top of a calibration ({@code calibration}): cross-layer
 * equalization ({@code cle}, with ReLU6 pairs kept or made ReLU), empirical bias correction,
 * AdaRound ({@code adaroundSteps} Adam steps per layer learning each weight's rounding, 0: off),
 * and AdaQuant ({@code adaquantSteps} Adam steps per layer, 0: off, on
 * {@code adaquantImagesPerStep} images of each partition's shard per step, 0: all).
 */
public record FinetuneSettings(CalibrateSettings calibration, boolean cle, CrossLayerEqualization.Relu6 cleRelu6,
    boolean biasCorrection, int adaquantSteps, int adaquantImagesPerStep, int adaroundSteps) {
  public FinetuneSettings {
    if (calibration == null) throw new IllegalArgumentException("the calibration settings must be given");
    if (cleRelu6 == null) cleRelu6 = CrossLayerEqualization.Relu6.KEEP;
    if (adaquantSteps < 0) throw new IllegalArgumentException("--adaquant-steps must be at least 0, got " + adaquantSteps);
    if (adaquantSteps > 0 && !calibration.quant().dpuStyle()) {
      throw new IllegalArgumentException("--adaquant-steps tunes per-tensor power-of-two (DPU) quantizers only;"
          + " drop it or --weight-granularity/--scales");
    }
    if (adaroundSteps < 0) throw new IllegalArgumentException("--adaround-steps must be at least 0, got " + adaroundSteps);
    if (adaroundSteps > 0 && !calibration.quant().dpuStyle()) {
      throw new IllegalArgumentException("--adaround-steps tunes per-tensor power-of-two (DPU) quantizers only;"
          + " drop it or --weight-granularity/--scales");
    }
    if (adaquantImagesPerStep < 0) {
      throw new IllegalArgumentException("--adaquant-images-per-step must be at least 0, got " + adaquantImagesPerStep);
    }
  }

  /** No stage on: the same result as {@link Calibrate}. */
  public static FinetuneSettings of(CalibrateSettings calibration) {
    return new FinetuneSettings(calibration, false, CrossLayerEqualization.Relu6.KEEP, false, 0, 64, 0);
  }

  public FinetuneSettings withCle(boolean on) {
    return new FinetuneSettings(calibration, on, cleRelu6, biasCorrection, adaquantSteps, adaquantImagesPerStep, adaroundSteps);
  }

  public FinetuneSettings withBiasCorrection(boolean on) {
    return new FinetuneSettings(calibration, cle, cleRelu6, on, adaquantSteps, adaquantImagesPerStep, adaroundSteps);
  }

  public FinetuneSettings withAdaquantSteps(int steps) {
    return new FinetuneSettings(calibration, cle, cleRelu6, biasCorrection, steps, adaquantImagesPerStep, adaroundSteps);
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>(calibration.json());
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("cle", cle);
    f.put("cle_relu6", cleRelu6 == CrossLayerEqualization.Relu6.KEEP ? "keep" : "relu");
    f.put("bias_correction", biasCorrection);
    f.put("adaquant_steps", adaquantSteps);
    f.put("adaquant_images_per_step", adaquantImagesPerStep);
    f.put("adaround_steps", adaroundSteps);
    m.put("finetune", f);
    return m;
  }
}
