package io.qspark.job.app;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a service sends warnings as they arise (an input that looks wrong, fewer images than
 * asked for), before its result exists. The command line prints them as "qspark: warning: ...";
 * {@link #LOG}, the default, logs them.
 */
@FunctionalInterface
public interface Notices {
  void warning(String message);

  /** Warnings to the log (logger io.qspark.warnings). */
  Notices LOG = new Notices() {
    private final Logger log = LoggerFactory.getLogger("io.qspark.warnings");

    @Override
    public void warning(String message) {
      log.warn(message);
    }
  };
}
