package io.qspark.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --conf files and --print-config: file values are defaults, flags win, typos are errors. */
class ConfigFileTest {
  @TempDir Path dir;

  private Path write(String name, String yaml) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, yaml);
    return p;
  }

  @Test
  void fileValuesAreDefaultsAndFlagsWin() throws IOException {
    Path f = write("a.yaml", String.join("\n",
        "model: m.onnx", "data: d.idx", "out: o", "mean: [72.94]", "std: [90.02]",
        "calibrate:", "  method: entropy", "  bits: 6", "  sequential: true",
        "evaluate:", "  limit: 5", ""));
    Run r = Run.of("calibrate", "--conf", f.toString(), "--bits", "7", "--print-config");
    assertEquals(0, r.code(), r.err());
    List<String> lines = r.out().lines().toList();
    assertTrue(lines.contains("method: entropy"), r.out());
    assertTrue(lines.contains("bits: 7"), "the flag wins: " + r.out());
    assertTrue(lines.contains("mean: [72.94]"), r.out());
    assertTrue(lines.contains("sequential: true"), r.out());
    assertTrue(lines.contains("calib-size: 1000"), "built-in default: " + r.out());
    assertTrue(lines.contains("# limit: (not set)"), "evaluate's section is not calibrate's: " + r.out());
    // the printed settings read back as the same settings
    Path again = write("b.yaml", r.out());
    Run r2 = Run.of("calibrate", "--conf", again.toString(), "--print-config");
    assertEquals(0, r2.code(), r2.err());
    assertEquals(r.out().lines().skip(1).toList(), r2.out().lines().skip(1).toList());
  }

  @Test
  void unknownKeysAreListedTogether() throws IOException {
    Path f = write("typo.yaml", "metod: mse\ncalibrate:\n  bitz: 3\nmodel: m.onnx\n");
    Run r = Run.of("calibrate", "--conf", f.toString(), "--data", "d", "--out", "o");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("not options of 'qspark calibrate': metod, calibrate.bitz"), r.err());
  }

  @Test
  void unreadableFilesAreUserErrors() throws IOException {
    Run missing = Run.of("evaluate", "--conf", dir.resolve("none.yaml").toString(), "--print-config");
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("no such file"), missing.err());
    Run bad = Run.of("evaluate", "--conf", write("bad.yaml", "mean: [1\n").toString(), "--print-config");
    assertEquals(2, bad.code());
    assertTrue(bad.err().contains("not a readable YAML file"), bad.err());
    Run nested = Run.of("evaluate", "--conf", write("n.yaml", "mean: {a: 1}\n").toString(), "--print-config");
    assertEquals(2, nested.code());
    assertTrue(nested.err().contains("mean: expected a value or a list"), nested.err());
  }

  /** Every shipped config is accepted by each command it has a section for (by calibrate and evaluate when it has none). */
  @Test
  void shippedConfigsParse() throws IOException {
    Path conf = Path.of(System.getProperty("user.dir")).resolve("../conf").normalize();
    List<Path> files;
    try (Stream<Path> s = Files.list(conf)) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertTrue(files.size() >= 3, "configs in " + conf);
    for (Path f : files) {
      String text = Files.readString(f);
      List<String> commands = Stream.of("inspect", "calibrate", "evaluate", "deploy", "simulate", "finetune", "qat", "xportdnn",
          "sensitivity")
          .filter(c -> text.contains("\n" + c + ":")).toList();
      for (String c : commands.isEmpty() ? List.of("calibrate", "evaluate") : commands) {
        Run r = Run.of(c, "--conf", f.toString(), "--print-config");
        // a file of shared settings need not name the run's model, data and output
        boolean ok = r.code() == 0 || (r.err().contains("Missing required option") && !r.err().contains("--conf"));
        assertTrue(ok, f + " with " + c + ": " + r.err());
      }
    }
  }
}
