package io.qspark.job.cli;

import io.qspark.job.app.CalibrateSettings;
import io.qspark.job.app.Sensitivity;
import io.qspark.job.app.SensitivityResult;
import io.qspark.job.app.SensitivitySettings;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** `qspark sensitivity`: which quantization points cost accuracy, scored point by point as one Spark job. */
@Command(name = "sensitivity", mixinStandardHelpOptions = true, versionProvider = Version.class,
    sortOptions = false, usageHelpAutoWidth = true,
    description = {"Calibrates like `qspark calibrate` (same options), then scores every quantization point (each"
        + " activation point, each layer's weights) on the calibration images: the model with only that point"
        + " quantized, and with every point but it quantized, against the float model. Top-1 when the images have"
        + " labels, output SQNR for any model. One Spark job of (variants, data shard) tasks, merged exactly: the"
        + " figures are the same for any partitioning.",
        "Writes --out atomically: sensitivity.json and sensitivity.csv (the points ranked, most sensitive first),"
        + " report.json and report.html (a ranked bar chart, the run, its cost against one evaluation); prints the"
        + " ranked table. docs/layers.md#sensitivity."})
final class SensitivityCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ModelOption model;
  @Mixin DataOptions data;
  @Mixin PreprocessOptions preprocess;
  @Mixin QuantOptions quant;

  @Option(names = "--variants", paramLabel = "V", defaultValue = "both", order = 50,
      description = "Which models each point is scored in: only (only that point quantized), all-but (every point"
          + " quantized but that one) or both (twice the variants). Default: ${DEFAULT-VALUE}.")
  String variants;

  @Option(names = "--rows", paramLabel = "N", defaultValue = "25", order = 51,
      description = "Points the console table shows, most sensitive first (0: all; the files hold all). Default: ${DEFAULT-VALUE}.")
  int rows;

  @Mixin SparkOptions spark;

  @Override
  public Integer call() {
    if (rows < 0) throw new ParameterException(spec.commandLine(), "--rows must be at least 0, got " + rows);
    CalibrateSettings c = quant.settings(model, data, preprocess, spark);
    SensitivitySettings s = Mapping.settings(spec, () -> new SensitivitySettings(c, SensitivitySettings.Variants.parse(variants)));
    SensitivityResult r = new Sensitivity(Mapping.notices(spec)).run(s);
    PrintWriter out = spec.commandLine().getOut();
    r.report().printTable(out, rows);
    out.println(String.format(Locale.ROOT, "cost: %d variants in %.1f s on %d slots, %.1f evaluations' time"
        + " (one float evaluation of the same images in one task: %.2f s)", r.cost().variants(), r.cost().seconds(), r.cost().slots(),
        r.cost().evaluations(), r.cost().evaluationSeconds()));
    out.println("output: " + r.folder());
    out.flush();
    return ExitCodes.OK;
  }
}
