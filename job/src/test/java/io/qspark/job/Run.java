package io.qspark.job;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One in-process run of the command line: exit code and what it printed. */
public record Run(int code, String out, String err) {

  /**
   * System.err is redirected too for the run, so log output (Spark's included: the console
   * appender follows System.err) lands in {@link #err} as it would on a user's terminal.
   */
  public static synchronized Run of(String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    PrintStream err = new PrintStream(e, true, StandardCharsets.UTF_8);
    PrintStream systemErr = System.err;
    System.setErr(err);
    try {
      int code = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), err);
      return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(systemErr);
    }
  }

  /**
   * Runs a command that must be refused as bad input: exit code 2, one stderr line that contains
   * {@code expected}, and {@code out} not created.
   */
  public static void assertRefused(List<String> args, Path out, String expected) {
    Run r = of(args.toArray(String[]::new));
    org.junit.jupiter.api.Assertions.assertEquals(2, r.code(), r.err());
    org.junit.jupiter.api.Assertions.assertEquals(1, r.errorLines().size(), r.err());
    org.junit.jupiter.api.Assertions.assertTrue(r.err().contains(expected), r.err());
    org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(out), out + " was created");
  }

  /** Every non-blank stderr line, logs included. */
  public List<String> errorLines() {
    List<String> r = new ArrayList<>();
    for (String l : err.split("\\R")) if (!l.isBlank()) r.add(l);
    return r;
  }

  /** The repository's samples folder (tests run in job/). */
  /** The command line of a child JVM running the job's main like this one (its flags and class path), arguments to add. */
  public static List<String> childJvm() {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(s -> !s.startsWith("-agentlib") && !s.startsWith("-javaagent")).toList());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.qspark.job.Main"));
    return cmd;
  }

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
