package io.qspark.job.app;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link Deploy} compiles: a calibration folder (calibrate, finetune or qat), where the
 * deploy folder goes, and optionally a DPU target whose unsupported nodes become CPU layers.
 *
 * @param target a bundled target name or a target YAML file, or null: every node must compile to a DPU layer
 */
public record DeploySettings(String calibration, OutputSettings out, String target) {
  public DeploySettings {
    if (calibration == null || calibration.isBlank()) throw new IllegalArgumentException("--calib is empty");
    if (out == null) throw new IllegalArgumentException("--out must be given");
    if (target != null && target.isBlank()) throw new IllegalArgumentException("--target is empty");
  }

  public static DeploySettings of(String calibration, OutputSettings out) {
    return new DeploySettings(calibration, out, null);
  }

  public Map<String, Object> json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("calib", calibration);
    m.putAll(out.json());
    m.put("target", target);
    return m;
  }
}
