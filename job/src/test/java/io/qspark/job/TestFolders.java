package io.qspark.job;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The checked-in output folders of earlier formats (test resources io/qspark/job/folders). */
public final class TestFolders {
  private TestFolders() {}

  /** A folder of format 1 (qspark 0.1.0): calibration, deploy, simulation or qat; or the model tiny.onnx. */
  public static Path v1(String name) {
    return resource("/io/qspark/job/folders/v1/" + name);
  }

  public static Path resource(String name) {
    try {
      return Path.of(TestFolders.class.getResource(name).toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("test resource " + name + " missing", e);
    }
  }

  /** A writable copy. */
  public static Path copy(Path from, Path to) {
    try {
      return TestData.copy(from, to);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
