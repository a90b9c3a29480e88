package io.qspark.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.ParameterCount;
import java.util.List;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

/**
 * No method or constructor of kernels' main classes takes more than {@link ParameterCount#LIMIT}
 * parameters: geometry, GEMM calls and quantizer settings travel as parameter records.
 */
class ParameterCountTest {
  @Test
  void noLongArgumentLists() throws Exception {
    List<Class<?>> classes = ParameterCount.mainClasses(Tensor.class);
    assertTrue(classes.size() > 100, classes.size() + " classes found");
    // the generated protobuf classes are there, and left out
    Class.forName("io.qspark.kernels.onnx.proto.OnnxProto");
    assertTrue(classes.stream().noneMatch(c -> c.getPackageName().endsWith(".proto")), "protobuf's classes left out");
    assertEquals(List.of(), ParameterCount.over(ParameterCount.LIMIT, classes),
        "methods with more than " + ParameterCount.LIMIT + " parameters: give them a parameter record");
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
