package io.qspark.job.output;

/** What a qspark output folder holds, as its folder.json names it. */
public enum FolderKind {
  /** A calibrated model (calibrate, finetune): quant_info.json and the float model it belongs to. */
  CALIBRATION("calibration"),
  /** A calibrated model trained by QAT: a calibration folder plus the training history. */
  QAT("qat"),
  /** An integer deploy model (deploy) with the calibration it was compiled from. */
  DEPLOY("deploy"),
  /** The figures of a simulation (simulate --out). */
  SIMULATION("simulation"),
  /** Sensitivity analysis (sensitivity): the points ranked, as JSON and CSV. */
  SENSITIVITY("sensitivity");

  public final String key;

  FolderKind(String key) {
    this.key = key;
  }

  static FolderKind parse(String key, String where) {
    for (FolderKind k : values()) if (k.key.equals(key)) return k;
    throw new io.qspark.job.base.UserError(where + ": unknown folder kind '" + key + "'");
  }
}
