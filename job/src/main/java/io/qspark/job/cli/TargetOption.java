package io.qspark.job.cli;

import io.qspark.job.base.UserError;
import io.qspark.kernels.target.DpuTarget;
import io.qspark.kernels.target.TargetException;

/** Resolves --target (a bundled name or a YAML file) for every command that takes one. */
public final class TargetOption {
  public static final String DESCRIPTION = "DPU target: a bundled name (b4096, generic-int8; conf/targets/ in the"
      + " repository) or the path of a target YAML file.";

  private TargetOption() {}

  public static DpuTarget resolve(String nameOrPath) {
    try {
      return DpuTarget.resolve(nameOrPath);
    } catch (TargetException e) {
      throw new UserError(e.getMessage(), e);
    }
  }
}
