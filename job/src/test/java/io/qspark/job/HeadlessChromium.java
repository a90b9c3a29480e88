package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Debian's Chromium, headless, on a local file: the DOM after the page's scripts ran, and a
 * screenshot. The flags keep it off the network (this machine has none; the page must not need
 * one) and in a fresh profile.
 */
final class HeadlessChromium {
  static final String BINARY = "/usr/bin/chromium";

  private HeadlessChromium() {}

  record Result(String stdout, String stderr) {}

  static Result run(Path profile, String... args) throws IOException, InterruptedException {
    assertTrue(Files.isExecutable(Path.of(BINARY)), BINARY + " is missing: apt-get install chromium (.ci/run does)");
    List<String> cmd = new ArrayList<>(List.of(BINARY, "--headless", "--disable-gpu", "--no-sandbox", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0"));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile(profile.getParent(), "chromium", ".out");
    Path err = Files.createTempFile(profile.getParent(), "chromium", ".err");
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    int code = p.waitFor();
    Result r = new Result(Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    assertEquals(0, code, "chromium failed: " + r.stderr());
    return r;
  }

  /** The page's DOM after load; fails on messages the page's scripts logged as errors. */
  static String dom(Path page, Path profile) throws IOException, InterruptedException {
    Result r = run(profile, "--dump-dom", page.toUri().toString());
    for (String line : r.stderr().lines().toList()) {
      assertTrue(!line.contains("CONSOLE") && !line.contains("Uncaught"), "the page logged: " + line);
    }
    return r.stdout();
  }

  static void screenshot(Path page, Path png, Path profile) throws IOException, InterruptedException {
    run(profile, "--window-size=1280,3600", "--screenshot=" + png.toAbsolutePath(), page.toUri().toString());
    assertTrue(Files.size(png) > 10_000, "screenshot " + png + " is nearly empty");
  }
}
