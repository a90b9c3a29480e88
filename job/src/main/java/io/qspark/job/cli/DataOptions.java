package io.qspark.job.cli;

import io.qspark.job.data.DataRequest;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** --data, --labels, --limit: which labelled images a command reads. */
public final class DataOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "IMAGES", order = 10,
      description = "Images: an IDX file, gzipped or not (e.g. t10k-images-idx3-ubyte.gz).")
  Path data;

  @Option(names = "--labels", paramLabel = "LABELS", order = 11,
      description = "IDX labels file. Default: the *labels-idx1-ubyte* file beside --data.")
  Path labels;

  @Option(names = "--limit", paramLabel = "N", order = 12,
      description = "Use only the first N images. Default: all.")
  Integer limit;

  public DataRequest request(int[] dims) {
    if (limit != null && limit < 1) {
      throw new ParameterException(spec.commandLine(), "--limit must be at least 1, got " + limit);
    }
    return new DataRequest(data, labels, limit == null ? -1 : limit, dims);
  }
}
