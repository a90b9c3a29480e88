package io.qspark.job.cli;

import io.qspark.job.app.OutputSettings;
import io.qspark.job.app.SimulateSettings;
import picocli.CommandLine.Option;

/** simulate's golden dump: where, and of how many images (dpu-sim/README.md, "Golden dumps"). */
final class DumpOptions {
  @Option(names = "--dump", paramLabel = "DIR", order = 35,
      description = "Also write a golden per-layer dump to this folder (atomically, local or hdfs://...; --overwrite"
          + " replaces it): for each of the first --dump-images images, every deploy layer's integers (int8/int16,"
          + " NCHW, little-endian) and fix_point, and the fake-quant model's float tensor at the same point, with an"
          + " index dump.json. Compare two dumps (or a board's, converted) with `qspark compare-dumps`.")
  String dir;

  @Option(names = "--dump-images", paramLabel = "N", defaultValue = "1", order = 36,
      description = "How many images (the first of --data) --dump writes. Default: ${DEFAULT-VALUE}.")
  int images;

  /** The dump asked for, or null; its bounds are {@link SimulateSettings.Dump}'s. */
  SimulateSettings.Dump settings(boolean overwrite) {
    return dir == null ? null : new SimulateSettings.Dump(new OutputSettings(dir, overwrite), images);
  }
}
