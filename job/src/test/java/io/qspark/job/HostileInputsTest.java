package io.qspark.job;

import static io.qspark.job.BadModels.convNet;
import static io.qspark.job.BadModels.external;
import static io.qspark.job.BadModels.node;
import static io.qspark.job.BadModels.value;
import static io.qspark.job.CliErrorsTest.assertContains;
import static io.qspark.job.CliErrorsTest.badModel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.kernels.onnx.proto.OnnxProto.GraphProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs a careless or hostile user gives, each answered in one line with exit code 2 and no
 * stack trace: dimensions whose product overflows, external data that is a folder or a pipe or
 * has no location. Also: every command's --help prints without picocli's own warnings.
 */
class HostileInputsTest {
  @TempDir Path dir;

  /** 2e9 x 2e9 pixels: more elements than any array holds; the tensor is named. */
  @Test
  void dimensionsWhoseProductOverflowAreAnInputError() throws IOException {
    GraphProto.Builder g = GraphProto.newBuilder()
        .addInput(value("huge", -1, 3, 2_000_000_000L, 2_000_000_000L))
        .addNode(node("relu", "Relu", new String[] {"huge"}, "y"))
        .addOutput(value("y", -1, 3, 2_000_000_000L, 2_000_000_000L));
    Path m = BadModels.write(dir.resolve("huge.onnx"), g);
    assertContains(badModel(m), "graph input 'huge'", "more than 2^31 - 1 values");
  }

  @Test
  void externalDataThatIsAFolderOrAPipeOrHasNoLocation() throws Exception {
    Files.createDirectory(dir.resolve("w.bin"));
    Path folder = BadModels.write(dir.resolve("folder.onnx"), convNet(external("W", "w.bin", 2, 1, 3, 3)));
    assertContains(badModel(folder), "'w.bin'", "is a folder, not a file");

    Path fifo = dir.resolve("fifo.bin");
    Process mk = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
    assertEquals(0, mk.waitFor());
    Path pipe = BadModels.write(dir.resolve("pipe.onnx"), convNet(external("W", "fifo.bin", 2, 1, 3, 3)));
    assertContains(badModel(pipe), "'fifo.bin'", "not a regular file");

    TensorProto.Builder noLocation = external("W", "x", 2, 1, 3, 3).toBuilder().clearExternalData();
    Path none = BadModels.write(dir.resolve("none.onnx"), convNet(noLocation.build()));
    String msg = badModel(none);
    assertContains(msg, "initializer 'W'", "without a location");
    assertFalse(msg.contains("'null'"), msg);
  }

  /** picocli prints a warning on stderr for a description it cannot format (an unescaped %). */
  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void everyCommandsHelpPrintsCleanly() {
    for (String c : new String[] {"inspect", "calibrate", "finetune", "qat", "evaluate", "deploy", "simulate", "xportdnn",
        "sensitivity"}) {
      Run r = Run.of(c, "--help");
      assertEquals(0, r.code(), c + ": " + r.err());
      assertEquals("", r.err(), c + " --help wrote to stderr");
      assertTrue(r.out().contains("Usage:"), r.out());
    }
    assertTrue(Run.of("qat", "--help").out().contains("after 80% of the steps"));
  }
}
