package io.qspark.job.cli;

import io.qspark.kernels.model.Model;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --model, shared by every command that reads a float model. */
public final class ModelOption {
  @Option(names = "--model", required = true, paramLabel = "MODEL.onnx", order = 1,
      description = "The float model, ONNX (opset 7 to 18). External tensor data must lie in the model's folder.")
  Path model;

  public Path path() {
    return model;
  }

  /** Imports, folds constants and infers shapes; any problem is a one-line GraphException. */
  public Model load() {
    return Model.load(model);
  }
}
