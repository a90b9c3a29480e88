package io.qspark.job.cli;

/** Process exit codes; scripts and Airflow branch on them, so they are part of the interface (README). */
public final class ExitCodes {
  private ExitCodes() {}

  public static final int OK = 0;
  /** A bug in qspark: the message asks for --verbose and a report. */
  public static final int INTERNAL = 1;
  /** Bad command line, model or data: fix the input and rerun. */
  public static final int BAD_INPUT = 2;
  /** Spark could not finish the job: look at the cluster, rerunning may help. */
  public static final int JOB_FAILED = 3;
  /** The job ran but a requested accuracy gate was missed (simulate --max-top1-drop), or compare-dumps found a difference. */
  public static final int GATE_FAILED = 4;
  /** Stopped by SIGINT (Ctrl-C) or SIGTERM: 128 + the signal's number, as shells report it (see {@link StopSignals}). */
  public static final int SIGINT = 130, SIGTERM = 143;
}
