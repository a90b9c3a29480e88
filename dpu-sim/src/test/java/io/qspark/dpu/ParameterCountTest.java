package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.testing.ParameterCount;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * No method or constructor of dpu-sim's main classes takes more than {@link ParameterCount#LIMIT}
 * parameters (the generated protobuf classes aside); kernels' ParameterCountTest shows the count
 * finds what it should.
 */
class ParameterCountTest {
  /** Methods that still take more, each to be given a parameter record; the list only shrinks. */
  private static final List<String> NOT_YET = List.of(
      "io.qspark.dpu.FastIntegerOps$Requantizer.<init>: 9 parameters",
      "io.qspark.dpu.IntegerOps$Requant.<init>: 9 parameters",
      "io.qspark.dpu.IntegerOps.conv: 18 parameters",
      "io.qspark.dpu.IntegerOps.pool: 17 parameters");

  @Test
  void noLongArgumentLists() throws Exception {
    List<Class<?>> classes = ParameterCount.mainClasses(Simulator.class);
    assertTrue(classes.stream().anyMatch(c -> c == IntegerOps.class), "dpu-sim's classes found");
    List<String> over = ParameterCount.over(ParameterCount.LIMIT, classes);
    List<String> fresh = new ArrayList<>(over);
    fresh.removeAll(NOT_YET);
    assertEquals(List.of(), fresh, "methods with more than " + ParameterCount.LIMIT + " parameters");
    List<String> stale = new ArrayList<>(NOT_YET);
    stale.removeAll(over);
    assertEquals(List.of(), stale, "no longer over the limit: take them off NOT_YET");
  }
}
