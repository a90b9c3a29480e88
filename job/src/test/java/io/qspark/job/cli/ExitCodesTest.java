package io.qspark.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.base.JobFailure;
import io.qspark.job.Run;
import io.qspark.job.base.UserError;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** Exit codes by kind of failure, as README documents them. */
class ExitCodesTest {
  private static String[] outcome(Throwable t) {
    StringWriter w = new StringWriter();
    int code = Cli.failure(t, new PrintWriter(w), false);
    return new String[] {Integer.toString(code), w.toString().strip()};
  }

  @Test
  void byKind() {
    assertEquals("2", outcome(new UserError("bad data"))[0]);
    assertEquals("2", outcome(new RuntimeException("wrapped", new UserError("bad data")))[0]);
    String[] job = outcome(new JobFailure("Spark job failed: executor lost", null));
    assertEquals("3", job[0]);
    assertEquals("qspark: error: Spark job failed: executor lost", job[1]);
    String[] bug = outcome(new NullPointerException("x is null"));
    assertEquals("1", bug[0]);
    assertTrue(bug[1].startsWith("qspark: error: internal error: java.lang.NullPointerException: x is null"), bug[1]);
    assertTrue(bug[1].contains("--verbose"), bug[1]);
  }

  @Test
  void badMasterUrlIsAUsageError() throws Exception {
    Run r = Run.of("evaluate", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--limit", "10",
        "--master", "nonsense://x");
    assertEquals(2, r.code(), r.err());
    assertEquals(1, r.errorLines().size(), r.err());
    assertTrue(r.errorLines().get(0).contains("--master nonsense://x is not a Spark master URL"), r.err());
  }
}
