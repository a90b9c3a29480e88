package io.qspark.job.cli;

import java.util.List;

/**
 * Every qspark subcommand, in the order `qspark --help` lists them. A new stage (calibrate,
 * deploy, simulate, finetune, qat) is one class with its own options plus one line here.
 */
final class Commands {
  private Commands() {}

  static List<Object> all() {
    return List.of(new InspectCommand(), new CalibrateCommand(), new FinetuneCommand(), new QatCommand(), new EvaluateCommand(), new SensitivityCommand(),
        new DeployCommand(), new SimulateCommand(), new CompareDumpsCommand(), new XportDnnCommand());
  }
}
