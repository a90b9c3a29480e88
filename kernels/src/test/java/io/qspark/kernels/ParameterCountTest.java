package io.qspark.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.ParameterCount;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

/**
 * No method or constructor of kernels' main classes takes more than {@link ParameterCount#LIMIT}
 * parameters: geometry, GEMM calls and quantizer settings travel as parameter records.
 */
class ParameterCountTest {
  /** Methods that still take more, each to be given a parameter record; the list only shrinks. */
  private static final List<String> NOT_YET = List.of(
      "io.qspark.kernels.train.AdaQuant.tune: 9 parameters",
      "io.qspark.kernels.train.AdaRound.tune: 9 parameters",
      "io.qspark.kernels.train.LayerwiseTuning.refit: 9 parameters",
      "io.qspark.kernels.train.LayerwiseTuning.run: 9 parameters"
  );

  @Test
  void noLongArgumentLists() throws Exception {
    List<Class<?>> classes = ParameterCount.mainClasses(Tensor.class);
    assertTrue(classes.size() > 100, classes.size() + " classes found");
    List<String> over = ParameterCount.over(ParameterCount.LIMIT, classes);
    List<String> fresh = new ArrayList<>(over);
    fresh.removeAll(NOT_YET);
    assertEquals(List.of(), fresh, "methods with more than " + ParameterCount.LIMIT + " parameters");
    List<String> stale = new ArrayList<>(NOT_YET);
    stale.removeAll(over);
    assertEquals(List.of(), stale, "no longer over the limit: take them off NOT_YET");
  }

  /** The count itself: nine parameters or record components are found, eight and generated code are not. */
  @Test
  void findsWhatIsOverTheLimit() {
    List<String> over = ParameterCount.over(ParameterCount.LIMIT, List.of(Wide.class, WideRecord.class, NarrowRecord.class));
    assertEquals(List.of(
        Wide.class.getName() + ".<init>: 9 parameters",
        Wide.class.getName() + ".nine: 9 parameters",
        WideRecord.class.getName() + ".<init>: 9 parameters"), over.stream().sorted().toList());
    assertEquals(List.of(), ParameterCount.over(9, List.of(Wide.class, WideRecord.class)));
  }

  @SuppressWarnings("unused")
  static final class Wide {
    Wide(int a, int b, int c, int d, int e, int f, int g, int h, int i) {}

    static int nine(int a, int b, int c, int d, int e, int f, int g, int h, int i) {
      return a + b + c + d + e + f + g + h + i;
    }

    static int eight(int a, int b, int c, int d, int e, int f, int g, int h) {
      return a + b + c + d + e + f + g + h;
    }

    /** A lambda capturing nine locals compiles to a synthetic method of nine parameters: not counted. */
    static IntSupplier captures(int a, int b, int c, int d, int e, int f, int g, int h) {
      int i = a * b;
      return () -> a + b + c + d + e + f + g + h + i;
    }
  }

  record WideRecord(int a, int b, int c, int d, int e, int f, int g, int h, int i) {}

  record NarrowRecord(int a, int b, int c, int d, int e, int f, int g, int h) {}
}
