package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.testing.ParameterCount;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * No method or constructor of dpu-sim's main classes takes more than {@link ParameterCount#LIMIT}
 * parameters (the generated protobuf classes aside); kernels' ParameterCountTest shows the count
 * finds what it should.
 */
class ParameterCountTest {
  @Test
  void noLongArgumentLists() throws Exception {
    List<Class<?>> classes = ParameterCount.mainClasses(Simulator.class);
    assertTrue(classes.stream().anyMatch(c -> c == IntegerOps.class), "dpu-sim's classes found");
    assertEquals(List.of(), ParameterCount.over(ParameterCount.LIMIT, classes),
        "methods with more than " + ParameterCount.LIMIT + " parameters: give them a parameter record");
  }
}
