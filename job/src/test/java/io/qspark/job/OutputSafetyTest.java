package io.qspark.job;

import static io.qspark.job.CliErrorsTest.assertContains;
import static io.qspark.job.CliErrorsTest.userError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.dpu.DeployFormat;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.dpu.proto.DeployProto.Op;
import io.qspark.job.output.OutputMarker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing lost, nothing trusted blindly, as a careless or hostile user would find out: an output
 * on or around the run's inputs, --overwrite of a folder qspark did not write, a foreign folder
 * where QAT keeps its checkpoints, a tampered deploy model, more partitions than images. Each is
 * one line and exit code 2 before any Spark job, and what was there is byte for byte as before.
 */
class OutputSafetyTest {
  @TempDir Path dir;

  /** Every file under a folder with its sha256, to compare before and after. */
  static Map<String, String> contents(Path root) throws Exception {
    Map<String, String> r = new TreeMap<>();
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String key = root.relativize(p).toString();
        r.put(key, Files.isRegularFile(p)
            ? HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))) : "folder");
      }
    }
    return r;
  }

  private static String[] calibrate(String model, String data, String out, String... more) {
    List<String> a = new ArrayList<>(List.of("calibrate", "--model", model, "--data", data, "--mean", "72.94", "--std",
        "90.02", "--calib-size", "100", "--master", "local[1]", "--out", out));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  /** The case: calibrate --model X/sub/m.onnx --data X/sub/d.gz --out X --overwrite used to delete X/sub. */
  @Test
  void outputOnAboveOrBelowTheInputsIsRefusedAndTheInputsStayAsTheyWere() throws Exception {
    Path x = dir.resolve("X"), sub = Files.createDirectories(x.resolve("sub"));
    Path model = Files.copy(Path.of(Run.sampleModel()), sub.resolve("m.onnx"));
    Path data = Files.copy(Path.of(Run.sampleImages()), sub.resolve("d.gz"));
    Files.copy(Path.of(Run.sampleImages()).resolveSibling("t10k-labels-idx1-ubyte.gz"), sub.resolve("labels.gz"));
    Path images = Files.createDirectories(x.resolve("images/0-tshirt"));
    Files.write(images.resolve("a.png"), new byte[] {1, 2, 3});
    Map<String, String> before = contents(x);
    String m = model.toString(), d = data.toString();
    for (String overwrite : new String[] {null, "--overwrite"}) {
      String[] o = overwrite == null ? new String[0] : new String[] {overwrite};
      // equal to the model's and the data's folder, above it, equal to the data file itself
      assertContains(userError(calibrate(m, d, sub.toString(), o)), "--out " + sub + " contains --model " + m);
      assertContains(userError(calibrate(m, d, x.toString(), o)), "--out " + x + " contains --model " + m);
      assertContains(userError(calibrate(m, d, d, o)), "--out " + d + " is --data " + d);
      // explicit labels
      assertContains(userError(calibrate(Run.sampleModel(), Run.sampleImages(), sub.resolve("labels.gz").toString(),
          withLabels(sub.resolve("labels.gz"), o))), "is --labels");
      // below: inside an image folder given as data
      assertContains(userError(calibrate(Run.sampleModel(), x.resolve("images").toString(), x.resolve("images/out").toString(), o)),
          "lies inside --data " + x.resolve("images"));
      // through a relative path with ..
      assertContains(userError(calibrate(m, d, sub.resolve("../sub").toString(), o)), "contains --model");
    }
    // deploy and simulate: the calibration and deploy folders are inputs too
    Path calib = CalibrationFixture.write(dir.resolve("calib"));
    Map<String, String> calibBefore = contents(calib);
    assertContains(userError("deploy", "--calib", calib.toString(), "--out", calib.toString(), "--overwrite"),
        "--out " + calib + " is --calib " + calib);
    assertContains(userError("deploy", "--calib", calib.toString(), "--out", calib.resolve("dpu").toString()), "lies inside --calib");
    assertEquals(before, contents(x), "the inputs are byte for byte as before");
    assertEquals(calibBefore, contents(calib));
  }

  private static String[] withLabels(Path labels, String[] o) {
    List<String> a = new ArrayList<>(List.of("--labels", labels.toString()));
    a.addAll(List.of(o));
    return a.toArray(String[]::new);
  }

  @Test
  void overwriteReplacesOnlyAFolderQsparkWrote() throws Exception {
    Path calib = CalibrationFixture.write(dir.resolve("calib"));
    Path theirs = Files.createDirectories(dir.resolve("theirs"));
    Files.writeString(theirs.resolve("notes.txt"), "someone's work");
    Map<String, String> before = contents(theirs);
    String msg = userError("deploy", "--calib", calib.toString(), "--out", theirs.toString(), "--overwrite");
    assertContains(msg, theirs.toString(), "was not written by qspark", "move it away");
    assertEquals(before, contents(theirs));

    Path mine = dir.resolve("mine");
    Run d = Run.of("deploy", "--calib", calib.toString(), "--out", mine.toString());
    assertEquals(0, d.code(), d.err());
    assertTrue(Files.isRegularFile(mine.resolve(OutputMarker.FILE)));
    Run again = Run.of("deploy", "--calib", calib.toString(), "--out", mine.toString(), "--overwrite");
    assertEquals(0, again.code(), again.err());
    Files.writeString(mine.resolve("my-notes.txt"), "kept");
    assertContains(userError("deploy", "--calib", calib.toString(), "--out", mine.toString(), "--overwrite"),
        "qspark did not write (my-notes.txt)");
    assertEquals("kept", Files.readString(mine.resolve("my-notes.txt")));
  }

  @Test
  void qatRefusesAForeignCheckpointFolderAndLeavesItAlone() throws Exception {
    Path out = dir.resolve("qat"), ck = Files.createDirectories(dir.resolve("qat.checkpoints"));
    Files.writeString(ck.resolve("thesis.tex"), "\\documentclass{article}");
    Files.createDirectories(ck.resolve("step-000000001"));
    Files.writeString(ck.resolve("step-000000001/state.bin"), "not qspark's");
    Map<String, String> before = contents(ck);
    String[] qat = {"qat", "--model", Run.sampleModel(), "--data", Run.sampleImages(), "--limit", "128", "--mean", "72.94",
        "--std", "90.02", "--batch-size", "64", "--master", "local[1]", "--out", out.toString()};
    assertContains(userError(qat), ck.toString(), "is not a qspark checkpoint folder", "neither uses nor deletes it");
    String[] again = java.util.Arrays.copyOf(qat, qat.length + 2);
    again[qat.length] = "--overwrite";
    again[qat.length + 1] = "--resume";
    assertContains(userError(again), "is not a qspark checkpoint folder");
    assertEquals(before, contents(ck));
    assertFalse(Files.exists(out));
    // --checkpoint-dir on an input or inside --out
    List<String> onData = new ArrayList<>(List.of(qat));
    onData.addAll(List.of("--checkpoint-dir", Path.of(Run.sampleImages()).getParent().toString()));
    assertContains(userError(onData.toArray(String[]::new)), "--checkpoint-dir", "contains --data");
    List<String> inOut = new ArrayList<>(List.of(qat));
    inOut.addAll(List.of("--checkpoint-dir", out.resolve("ck").toString()));
    assertContains(userError(inOut.toArray(String[]::new)), "--checkpoint-dir " + out.resolve("ck") + " lies inside --out " + out);
  }

  /**
   * Tampered deploy models fail on the driver, before Spark: the master is one Spark cannot
   * parse, so had Spark been started the error would be about it.
   */
  @Test
  void tamperedDeployModelsAreRefusedBeforeAnySparkJob() throws Exception {
    Path calib = CalibrationFixture.write(dir.resolve("calib")), dep = dir.resolve("dpu");
    Run d = Run.of("deploy", "--calib", calib.toString(), "--out", dep.toString());
    assertEquals(0, d.code(), d.err());
    Path pb = dep.resolve(DeployFormat.FILE);
    byte[] good = Files.readAllBytes(pb);
    DeployModel m = DeployModel.parseFrom(good);

    // a flipped weight bit, the digest as deploy wrote it: the file differs from deploy's in that bit only
    DeployModel flipped = edit(m, Op.CONV, l -> {
      byte[] w = l.getWeights().toByteArray();
      w[3] ^= 0x10;
      return l.setWeights(com.google.protobuf.ByteString.copyFrom(w));
    });
    Files.write(pb, flipped.toByteArray());
    assertEquals(good.length, Files.size(pb));
    assertContains(simulateError(dep), "deploy_model.pb is a corrupt deploy model", "does not match the sha256");

    // edits with the digest recomputed: the ranges
    for (int cut : new int[] {40, -5, Integer.MAX_VALUE}) {
      write(pb, edit(m, Op.CONV, l -> l.setShiftCut(cut)));
      assertContains(simulateError(dep), "shift_cut " + cut);
    }
    write(pb, edit(m, Op.ELTWISE_ADD, l -> l.setInputShifts(0, 64)));
    assertContains(simulateError(dep), "shifts input 0 by 64");
    write(pb, edit(m, Op.CONV, l -> l.setActivation(io.qspark.dpu.proto.DeployProto.Activation.CLIP_ACT)
        .setActMin(Float.NaN).setActMax(Float.NaN)));
    assertContains(simulateError(dep), "clips to [NaN, NaN]");
    for (int bits : new int[] {0, 64}) {
      DeployModel.Builder b = m.toBuilder();
      int v = 0;
      while (!b.getValues(v).getInteger()) v++;
      b.setValues(v, b.getValues(v).toBuilder().setBits(bits));
      write(pb, b.build());
      assertContains(simulateError(dep), "bit width " + bits + " outside [2, 16]");
    }
  }

  private static void write(Path pb, DeployModel m) throws IOException {
    Files.write(pb, DeployFormat.seal(m).toByteArray());
  }

  private static String simulateError(Path dep) {
    return userError("simulate", "--deploy", dep.toString(), "--data", Run.sampleImages(), "--mean", "72.94", "--std", "90.02",
        "--master", "no-such-master://x");
  }

  private static DeployModel edit(DeployModel m, Op op, UnaryOperator<Layer.Builder> change) {
    DeployModel.Builder b = m.toBuilder();
    for (int i = 0; i < b.getLayersCount(); i++) {
      if (b.getLayers(i).getOp() == op) {
        b.setLayers(i, change.apply(b.getLayers(i).toBuilder()));
        break;
      }
    }
    return b.build();
  }

  @Test
  void partitionsBeyondTheImagesOrTheMaximumAreRefused() {
    Path out = dir.resolve("out");
    String msg = userError(calibrate(Run.sampleModel(), Run.sampleImages(), out.toString(), "--partitions", "100000"));
    assertContains(msg, "--partitions 100000", "maximum, 10000");
    msg = userError(calibrate(Run.sampleModel(), Run.sampleImages(), out.toString(), "--partitions", "200"));
    assertContains(msg, "--partitions 200", "100 images");
    assertFalse(Files.exists(out));
  }
}
