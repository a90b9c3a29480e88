package io.qspark.job.cli;

import io.qspark.job.output.AtomicFolder;
import java.io.PrintStream;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.SparkSession;
import sun.misc.Signal;

/**
 * SIGTERM (Airflow's and Kubernetes' stop, `kill`) and SIGINT (Ctrl-C) stop a command-line run
 * cleanly: the running Spark jobs are cancelled and the main thread interrupted, so the command
 * unwinds through its own clean-up (the output folder's temporary folder removed, Spark stopped)
 * and ends with one line and exit code 128 + the signal's number, as a shell reports it. Without
 * this the JVM runs Spark's shutdown hooks under the still running job, which prints dozens of
 * lines of stack traces and leaves the temporary folder behind. A run that does not finish
 * unwinding within {@link #GRACE_SECONDS} (or a second signal) is ended at once, its temporary
 * folders removed first.
 */
public final class StopSignals {
  static final int GRACE_SECONDS = 20;
  private static volatile String received;
  private static volatile int code;
  /** Set when the run has returned its exit code: the JVM is exiting, nothing to stop. */
  private static volatile boolean exiting;

  private StopSignals() {}

  /** Handles SIGTERM and SIGINT for the process's main thread (bin/qspark, spark-submit's driver). */
  public static void install(PrintStream err) {
    Thread main = Thread.currentThread();
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(new Signal(name), s -> stop(s, main, err));
      } catch (IllegalArgumentException e) {
        // the JVM reserves the signal (-Xrs): its default stands
      }
    }
  }

  /** The run has ended (its exit code is known): from now on a signal is the JVM's default. */
  public static void exiting() {
    exiting = true;
  }

  /** The signal that stopped this run ("SIGTERM"), or null. */
  static String received() {
    return received;
  }

  /** The exit code for the signal received: 128 + its number. */
  static int exitCode() {
    return code;
  }

  private static void stop(Signal s, Thread main, PrintStream err) {
    if (exiting) return;
    if (received != null) {
      halt(err, "stopped by a second SIG" + s.getName());
      return;
    }
    code = 128 + s.getNumber();
    received = "SIG" + s.getName();
    quietLibraries();
    Thread watchdog = new Thread(() -> {
      cancelSparkJobs();
      // most of a run is Spark jobs, whose cancellation ends it; driver-side work gets an interrupt
      // only if it goes on (an interrupt in the middle of clean-up could cut a delete short)
      if (!joined(main, 5) && !exiting) {
        main.interrupt();
        if (!joined(main, GRACE_SECONDS - 5) && !exiting) {
          halt(err, "stopped by " + received + " (the run did not stop within " + GRACE_SECONDS + " s)");
        }
      }
    }, "qspark-stop");
    watchdog.setDaemon(true);
    watchdog.start();
  }

  /**
   * What Spark and Hadoop log while a run is being stopped (a cancelled broadcast, a stage
   * aborted, a lost block) is the stop itself, which the one line reports.
   */
  private static void quietLibraries() {
    try {
      for (String lib : new String[] {"org.apache.spark", "org.apache.hadoop", "org.sparkproject", "io.netty"}) {
        Configurator.setLevel(lib, Level.OFF);
      }
      // and qspark's own progress: the figures of a cancelled stage mean nothing
      Configurator.setLevel("io.qspark", Level.WARN);
    } catch (LinkageError e) {
      // another logging backend (a cluster's choice): its own configuration decides
    }
  }

  /** Cancels the running jobs and every one started from now on (a run between two jobs starts no more). */
  private static void cancelSparkJobs() {
    try {
      scala.Option<SparkSession> spark = SparkSession.getDefaultSession();
      if (!spark.isDefined()) return;
      SparkContext sc = spark.get().sparkContext();
      sc.addSparkListener(new SparkListener() {
        @Override
        public void onJobStart(SparkListenerJobStart job) {
          sc.cancelJob(job.jobId());
        }
      });
      sc.cancelAllJobs();
    } catch (RuntimeException | LinkageError e) {
      // no Spark, or one already stopping: nothing to cancel
    }
  }

  /** Whether the thread ended within the time. */
  private static boolean joined(Thread t, int seconds) {
    try {
      t.join(TimeUnit.SECONDS.toMillis(seconds));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return !t.isAlive();
  }

  private static void halt(PrintStream err, String why) {
    AtomicFolder.abandonAll();
    err.println("qspark: error: " + why + "; the output was not written");
    err.flush();
    Runtime.getRuntime().halt(code == 0 ? 143 : code);
  }
}
