package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command, run as a user would on the bundled sample and ending normally, prints no stack
 * trace and no exception (Spark's shutdown noise included: its log goes to the same stderr), and
 * `--help` of every command exits 0. The list of commands is read from the command line itself,
 * so a command added without a run here fails the test.
 */
@Tag("slow")
class EveryCommandTest {
  @TempDir Path dir;

  private final Set<String> ran = new TreeSet<>();

  private static final String[] PRE = {"--mean", "72.94", "--std", "90.02"};

  private Run run(String command, String... args) {
    List<String> a = new ArrayList<>();
    a.add(command);
    a.addAll(List.of(args));
    Run r = Run.of(a.toArray(String[]::new));
    ran.add(command);
    assertEquals(0, r.code(), command + ": " + r.err());
    quiet(command, r);
    return r;
  }

  private static void quiet(String what, Run r) {
    assertFalse(r.err().contains("\tat "), what + " printed a stack trace: " + r.err());
    assertFalse(r.err().contains("Exception"), what + " printed an exception: " + r.err());
  }

  private static String[] with(String[] a, String... b) {
    String[] r = new String[a.length + b.length];
    System.arraycopy(a, 0, r, 0, a.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void everyCommandEndsQuietly() {
    String model = Run.sampleModel(), data = Run.sampleImages();
    String calib = dir.resolve("calib").toString(), tuned = dir.resolve("tuned").toString(), qat = dir.resolve("qat").toString();
    String dep = dir.resolve("dep").toString(), dump = dir.resolve("dump").toString();
    String[] data128 = {"--limit", "128", "--master", "local[2]"};
    String[] small = with(data128, "--calib-size", "64");

    run("inspect", "--model", model, "--target", "b4096");
    run("evaluate", with(with(PRE, data128), "--model", model, "--data", data));
    run("calibrate", with(with(PRE, small), "--model", model, "--data", data, "--out", calib));
    run("evaluate", with(with(PRE, data128), "--model", calib, "--data", data));
    run("sensitivity", with(with(PRE, small), "--model", model, "--data", data, "--out", dir.resolve("sens").toString(),
        "--variants", "only"));
    run("finetune", with(with(PRE, small), "--model", model, "--data", data, "--out", tuned, "--cle", "--bias-correction",
        "--adaquant-steps", "1"));
    run("qat", with(with(PRE, small), "--model", model, "--data", data, "--out", qat, "--epochs", "1", "--batch-size", "64",
        "--micro-batch", "32"));
    run("deploy", "--calib", calib, "--out", dep, "--target", "b4096");
    run("simulate", with(PRE, "--deploy", dep, "--data", data, "--limit", "128", "--master", "local[2]", "--dump", dump));
    run("compare-dumps", dump, dump);
    run("xportdnn", "--quant_type", "DynamicFixed", "--deploy_model", model, "--quantized_deploy_model",
        dir.resolve("chai.prototxt").toString(), "--bitwidths", "8,8,8");

    Set<String> commands = new TreeSet<>(io.qspark.job.cli.Cli.commands());
    commands.remove("help");
    for (String c : commands) {
      Run h = Run.of(c, "--help");
      assertEquals(0, h.code(), c + " --help: " + h.err());
      assertTrue(h.out().contains("Usage: qspark " + c), h.out());
      quiet(c + " --help", h);
    }
    assertEquals(commands, ran, "every command is run here");
  }
}
