package io.qspark.job;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One in-process run of the command line: exit code and what it printed. */
public record Run(int code, String out, String err) {

  public static Run of(String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    int code = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8),
        new PrintStream(e, true, StandardCharsets.UTF_8));
    return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
  }

  /** stderr lines that are not log output (logs have a time stamp and level first). */
  public List<String> errorLines() {
    List<String> r = new ArrayList<>();
    for (String l : err.split("\\R")) if (!l.isBlank() && !l.matches("^\\d\\d:\\d\\d:\\d\\d \\w+ .*")) r.add(l);
    return r;
  }

  /** The repository's samples folder (tests run in job/). */
  public static Path samples() {
    return Path.of(System.getProperty("user.dir")).resolve("../samples").normalize();
  }

  public static String sampleModel() {
    return samples().resolve("resnet_s.onnx").toString();
  }

  public static String sampleImages() {
    return samples().resolve("fashion-mnist-1k/t10k-images-idx3-ubyte.gz").toString();
  }
}
