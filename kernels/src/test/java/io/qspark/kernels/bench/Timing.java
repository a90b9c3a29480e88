package io.qspark.kernels.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Wall-clock samples of repeated actions. Medians, because a GC or a scheduler hiccup lands in
 * one sample and should not move the figure. Engines that are compared are measured in
 * alternating blocks over several rounds, so load from other processes on a shared machine
 * falls on all of them alike and their ratio stays meaningful.
 */
final class Timing {
  /** Something to time that may throw (ORT's calls do). */
  interface Action {
    void run() throws Exception;
  }

  /** Seconds per run, sorted ascending. */
  record Samples(double[] seconds) {
    Samples {
      seconds = seconds.clone();
      Arrays.sort(seconds);
    }

    double median() {
      int n = seconds.length;
      return n % 2 == 1 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2;
    }

    double min() {
      return seconds[0];
    }

    double max() {
      return seconds[seconds.length - 1];
    }
  }

  /** First warm-up: long enough for the JIT to compile the hot loops. */
  static final double WARMUP_SECONDS = Double.parseDouble(System.getProperty("qspark.bench.warmup", "3"));
  static final int ROUNDS = Integer.getInteger("qspark.bench.rounds", 3);
  static final int RUNS_PER_ROUND = Integer.getInteger("qspark.bench.runs", 5);
  /**
   * Untimed runs at the start of every block: thread pools of the engine timed just before
   * (OpenBLAS, ORT) keep spinning for a while after their last call.
   */
  private static final int SETTLE_RUNS = 2;

  private Timing() {}

  static int timedRuns() {
    return ROUNDS * RUNS_PER_ROUND;
  }

  /** One action alone. */
  static Samples measure(Action action) throws Exception {
    return interleaved(List.of(action)).get(0);
  }

  /** Samples for each action, measured round-robin in blocks. */
  static List<Samples> interleaved(List<Action> actions) throws Exception {
    for (Action a : actions) warmUp(a);
    double[][] s = new double[actions.size()][ROUNDS * RUNS_PER_ROUND];
    for (int r = 0; r < ROUNDS; r++) {
      for (int i = 0; i < actions.size(); i++) {
        Action a = actions.get(i);
        for (int k = 0; k < SETTLE_RUNS; k++) a.run();
        for (int k = 0; k < RUNS_PER_ROUND; k++) {
          long t0 = System.nanoTime();
          a.run();
          s[i][r * RUNS_PER_ROUND + k] = (System.nanoTime() - t0) / 1e9;
        }
      }
    }
    List<Samples> out = new ArrayList<>();
    for (double[] d : s) out.add(new Samples(d));
    return out;
  }

  private static void warmUp(Action a) throws Exception {
    long start = System.nanoTime();
    for (int i = 0; i < 3 || System.nanoTime() - start < WARMUP_SECONDS * 1e9; i++) a.run();
  }
}
