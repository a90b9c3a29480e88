package io.qspark.kernels.train;

import io.qspark.kernels.bench.BenchLoad;
import io.qspark.kernels.testing.Shared;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PyTorch's QAT throughput measured here and now, for benchmarks to divide by: the shared peer
 * script {@code ../shared/peers/torch_qat_throughput.py BITS STEPS} (FX fake-quant on weights
 * and activations, signed per-tensor power-of-two scales, BatchNorm in training mode, SGD, batch
 * 128, 2 threads) run as a subprocess with Debian's {@code /usr/bin/python3} and its
 * python3-torch. The script times two repetitions per model; both are kept. Never a figure from
 * another run: when the peer cannot run, {@link #run} says why and no ratio is formed.
 */
final class TorchQatPeer {
  static final String PYTHON = System.getProperty("qspark.bench.python", "/usr/bin/python3");
  /** "resnet_s W4A4 QAT (27 fake-quants), 2 threads, batch 128: 654.3 images/s" */
  private static final Pattern LINE = Pattern.compile("^(\\S+) W\\d+A\\d+ QAT .*: ([0-9.]+) images/s$");

  /** Images/s per model (each repetition), the command, and the load average before and after; or why it did not run. */
  record Result(Map<String, List<Double>> imagesPerSecond, String command, String loadBefore, String loadAfter,
      String failure) {
    boolean ran() {
      return failure == null;
    }

    /** The faster repetition: the first may include the interpreter's and the allocator's warm-up. */
    double best(String model) {
      List<Double> v = imagesPerSecond.get(model);
      return v == null ? Double.NaN : v.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }
  }

  private TorchQatPeer() {}

  static Path script() {
    return Shared.models().resolveSibling("peers").resolve("torch_qat_throughput.py");
  }

  /** Runs the peer at the given bit width (weights and activations) and step count; its output goes to {@code log}. */
  static Result run(int bits, int steps, Path log) throws IOException, InterruptedException {
    Path script = script();
    List<String> cmd = List.of(PYTHON, script.toString(), String.valueOf(bits), String.valueOf(steps));
    String command = String.join(" ", cmd);
    String before = BenchLoad.now();
    if (!Files.isRegularFile(script)) return failed(command, before, "no peer script at " + script);
    if (!Files.isExecutable(Path.of(PYTHON))) return failed(command, before, PYTHON + " not found");
    Files.createDirectories(log.getParent());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(30, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      return failed(command, before, "peer still running after 30 minutes");
    }
    String after = BenchLoad.now();
    Map<String, List<Double>> ips = new LinkedHashMap<>();
    for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
      Matcher m = LINE.matcher(line.trim());
      if (m.matches()) ips.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(Double.parseDouble(m.group(2)));
    }
    if (p.exitValue() != 0 || ips.isEmpty()) {
      return failed(command, before, "peer exited with " + p.exitValue() + ", no figures (see " + log + ")");
    }
    return new Result(ips, command, before, after, null);
  }

  private static Result failed(String command, String load, String why) {
    return new Result(Map.of(), command, load, BenchLoad.now(), why);
  }
}
