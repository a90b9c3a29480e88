package io.qspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.base.JobFailure;
import io.qspark.kernels.graph.GraphException;
import org.apache.spark.SparkException;
import org.junit.jupiter.api.Test;

/** How a failed Spark job reaches the command line. */
class EvaluationJobFailuresTest {
  @Test
  void aModelProblemInsideATaskStaysTheUsersError() {
    GraphException cause = new GraphException("node x (Conv): bad");
    RuntimeException r = EvaluationJob.translate(new SparkException("Job aborted due to stage failure", cause));
    assertSame(cause, r);
  }

  @Test
  void anythingElseIsAJobFailureWithSparksFirstLine() {
    RuntimeException r = EvaluationJob.translate(new SparkException(
        "Job aborted due to stage failure: Task 1 in stage 0.0 failed 4 times\n\tat org.apache.Foo.bar(Foo.scala:1)",
        new IllegalStateException("executor lost")));
    assertTrue(r instanceof JobFailure, r.toString());
    assertEquals("Spark job failed: Job aborted due to stage failure: Task 1 in stage 0.0 failed 4 times", r.getMessage());
  }
}
