package io.qspark.job.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** simulate's golden dump: where, and of how many images (dpu-sim/README.md, "Golden dumps"). */
final class DumpOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec spec;

  @Option(names = "--dump", paramLabel = "DIR", order = 34,
      description = "Also write a golden per-layer dump to this folder (atomically, local or hdfs://...; --overwrite"
          + " replaces it): for each of the first --dump-images images, every deploy layer's integers (int8/int16,"
          + " NCHW, little-endian) and fix_point, and the fake-quant model's float tensor at the same point, with an"
          + " index dump.json. Compare two dumps (or a board's, converted) with `qspark compare-dumps`.")
  String dir;

  @Option(names = "--dump-images", paramLabel = "N", defaultValue = "1", order = 35,
      description = "How many images (the first of --data) --dump writes. Default: ${DEFAULT-VALUE}.")
  int images;

  void check() {
    if (images < 1) throw new ParameterException(spec.commandLine(), "--dump-images must be at least 1, got " + images);
    if (images > MAX_IMAGES) {
      throw new ParameterException(spec.commandLine(), "--dump-images " + images + " is more than " + MAX_IMAGES
          + " (a dump holds every layer of every image, on the driver)");
    }
  }

  /** Dumps are for checking layers by hand or against a board: a few images, computed on the driver. */
  static final int MAX_IMAGES = 1000;
}
