package io.qspark.job;

import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.output.OutputMarker;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Output folders on hdfs://: calibrate reads its images from and writes its folder to HDFS,
 * deploy reads that folder and writes its own there, byte-identical to local runs; a run that
 * fails in the middle of writing (the folder's name-space quota runs out)
 * leaves no final folder, replaces nothing and leaves nothing behind for readers; QAT's
 * checkpoints there are checked by their digests.
 */
@Tag("slow")
// a hang guard for a test that waits on processes or servers, not a speed limit
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class HdfsOutputTest {
  @TempDir static Path dir;
  static MiniHdfs hdfs;
  static String images;

  @BeforeAll
  static void startHdfs() throws IOException {
    hdfs = new MiniHdfs(dir.resolve("hdfs"));
    hdfs.upload(Path.of(Run.sampleImages()).getParent(), "/data/idx");
    images = hdfs.root + "/data/idx/t10k-images-idx3-ubyte.gz";
  }

  @AfterAll
  static void stopHdfs() {
    if (hdfs != null) hdfs.close();
  }

  static Run calibrate(String data, String out, String... extra) {
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", Run.sampleModel(), "--data", data, "--mean",
        "72.94", "--std", "90.02", "--calib-size", "200", "--master", "local[2]", "--out", out));
    args.addAll(List.of(extra));
    return Run.of(args.toArray(new String[0]));
  }

  static byte[] read(String path) throws IOException {
    try (InputStream in = hdfs.fs().open(new org.apache.hadoop.fs.Path(path))) {
      return in.readAllBytes();
    }
  }

  static List<String> names(String folder) throws IOException {
    List<String> r = new ArrayList<>();
    for (FileStatus s : hdfs.fs().listStatus(new org.apache.hadoop.fs.Path(folder))) r.add(s.getPath().getName());
    r.sort(null);
    return r;
  }

  @Test
  void calibrateAndDeployOnHdfsMatchLocalRunsAndFailedWritesLeaveNothing() throws IOException {
    Path local = dir.resolve("local"), localDeploy = dir.resolve("local-deploy");
    Run l = calibrate(Run.sampleImages(), local.toString());
    assertEquals(0, l.code(), l.err());
    Run h = calibrate(images, hdfs.root + "/runs/int8");
    assertEquals(0, h.code(), h.err());
    assertTrue(h.out().contains(hdfs.root + "/runs/int8"), h.out());
    List<String> files = List.of(OutputMarker.FILE, "float_model.onnx", "folder.json", "quant_info.json", "quantize_eval_model.onnx",
        "report.html",
        "report.json");
    assertEquals(files, names("/runs/int8"));
    for (String f : List.of("quant_info.json", "quantize_eval_model.onnx", "float_model.onnx")) {
      assertArrayEquals(Files.readAllBytes(local.resolve(f)), read("/runs/int8/" + f), f);
    }

    assertEquals(0, Run.of("deploy", "--calib", local.toString(), "--out", localDeploy.toString()).code());
    Run d = Run.of("deploy", "--calib", hdfs.root + "/runs/int8", "--out", hdfs.root + "/runs/int8-deploy");
    assertEquals(0, d.code(), d.err());
    for (String f : List.of("deploy_model.pb", "deploy_model.txt", "quant_info.json")) {
      assertArrayEquals(Files.readAllBytes(localDeploy.resolve(f)), read("/runs/int8-deploy/" + f), f);
    }

    // two more names fit under /runs: the temporary folder and its lock; the first file fails
    DistributedFileSystem fs = hdfs.fs();
    org.apache.hadoop.fs.Path runs = new org.apache.hadoop.fs.Path("/runs");
    var before = fs.getContentSummary(runs);
    long names = before.getFileCount() + before.getDirectoryCount();
    fs.setQuota(runs, names + 2, Long.MAX_VALUE); // Long.MAX_VALUE: HdfsConstants.QUOTA_DONT_SET, space untouched
    byte[] info8 = read("/runs/int8/quant_info.json");
    Run failed = calibrate(images, hdfs.root + "/runs/int8", "--bits", "6", "--overwrite");
    assertEquals(2, failed.code(), failed.err());
    List<String> errors = failed.errorLines().stream().filter(x -> x.startsWith("qspark: error:")).toList();
    assertEquals(1, errors.size(), failed.err());
    assertTrue(errors.get(0).contains("cannot write") && errors.get(0).contains("quota"), errors.get(0));
    assertEquals(List.of("int8", "int8-deploy"), names("/runs"), "no temporary folder left, nothing replaced");
    assertEquals(files, names("/runs/int8"));
    assertArrayEquals(info8, read("/runs/int8/quant_info.json"), "the old folder is intact");

    // a failed first run leaves no folder at all
    Run failedNew = calibrate(images, hdfs.root + "/runs/int6");
    assertEquals(2, failedNew.code(), failedNew.err());
    assertEquals(List.of("int8", "int8-deploy"), names("/runs"));

    // with room again, --overwrite replaces the folder as a whole
    fs.setQuota(runs, -1, Long.MAX_VALUE); // -1: HdfsConstants.QUOTA_RESET
    Run six = calibrate(images, hdfs.root + "/runs/int8", "--bits", "6", "--overwrite");
    assertEquals(0, six.code(), six.err());
    assertEquals(List.of("int8", "int8-deploy"), names("/runs"), "the replaced folder is gone, not set aside");
    assertTrue(new String(read("/runs/int8/quant_info.json")).contains("\"activation_bits\": 6"));
  }

  /** qat writes its folder and its checkpoints on hdfs:// too; the default checkpoints go once the folder is in place. */
  @Test
  void qatWritesItsFolderOnHdfs() throws IOException {
    String out = hdfs.root + "/qat/w4";
    Run q = Run.of("qat", "--model", Run.sampleModel(), "--data", images, "--limit", "128", "--mean", "72.94", "--std", "90.02",
        "--bits", "4", "--calib-size", "64", "--epochs", "1", "--batch-size", "64", "--micro-batch", "32", "--checkpoint-every", "1",
        "--master", "local[2]", "--out", out);
    assertEquals(0, q.code(), q.err());
    assertEquals(List.of("w4"), names("/qat"), "no checkpoints or temporary folder left");
    assertEquals(List.of(OutputMarker.FILE, "float_model.onnx", "folder.json", "quant_info.json", "quantize_eval_model.onnx",
        "report.html", "report.json", "train_history.csv", "train_history.json"), names("/qat/w4"));
    Run again = Run.of("qat", "--model", Run.sampleModel(), "--data", images, "--out", out);
    assertEquals(2, again.code(), again.err());
    assertTrue(again.err().contains("already exists"), again.err());
  }

  /**
   * --model on hdfs://, ONNX and Caffe (prototxt with its caffemodel beside it, or --weights):
   * the same results as from the local disk, and calibrate's quant_info.json byte for byte.
   */
  @Test
  void modelsOnHdfsReadAsLocalOnes() throws IOException {
    hdfs.upload(Path.of(Run.sampleModel()), "/models/resnet_s.onnx");
    String model = hdfs.root + "/models/resnet_s.onnx";
    List<String> flags = List.of("--data", Run.sampleImages(), "--limit", "200", "--mean", "72.94", "--std", "90.02",
        "--master", "local[2]");
    Run local = evaluate(Run.sampleModel(), flags);
    Run remote = evaluate(model, flags);
    assertEquals(EvaluateSparkTest.results(local), EvaluateSparkTest.results(remote));
    assertTrue(remote.out().contains("model          " + model + " (onnx opset"), remote.out());

    Path localOut = dir.resolve("from-local-model");
    Run a = calibrate(Run.sampleImages(), localOut.toString());
    assertEquals(0, a.code(), a.err());
    List<String> args = new ArrayList<>(List.of("calibrate", "--model", model, "--data", Run.sampleImages(), "--mean", "72.94",
        "--std", "90.02", "--calib-size", "200", "--master", "local[2]", "--out", hdfs.root + "/model-runs/from-hdfs-model"));
    Run b = Run.of(args.toArray(new String[0]));
    assertEquals(0, b.code(), b.err());
    assertArrayEquals(Files.readAllBytes(localOut.resolve("quant_info.json")), read("/model-runs/from-hdfs-model/quant_info.json"));

    // the same graph as a Caffe model: deploy prototxt (no weights) and caffemodel
    var trained = io.qspark.kernels.caffe.CaffeExporter.export(io.qspark.kernels.model.Model.load(Path.of(Run.sampleModel())).graph());
    var deploy = trained.toBuilder();
    for (int i = 0; i < deploy.getLayerCount(); i++) deploy.setLayer(i, deploy.getLayer(i).toBuilder().clearBlobs());
    Path caffe = Files.createDirectories(dir.resolve("caffe"));
    Files.writeString(caffe.resolve("m.prototxt"), io.qspark.kernels.caffe.ChaiDnn.text(deploy.build()));
    Files.write(caffe.resolve("m.caffemodel"), trained.toByteArray());
    hdfs.upload(caffe, "/models/caffe");
    Run caffeLocal = evaluate(caffe.resolve("m.prototxt").toString(), flags);
    assertEquals(0, caffeLocal.code(), caffeLocal.err());
    Run caffeRemote = evaluate(hdfs.root + "/models/caffe/m.prototxt", flags);
    assertEquals(EvaluateSparkTest.results(caffeLocal), EvaluateSparkTest.results(caffeRemote));
    List<String> weights = new ArrayList<>(flags);
    weights.addAll(List.of("--weights", hdfs.root + "/models/caffe/m.caffemodel"));
    hdfs.fs().rename(new org.apache.hadoop.fs.Path("/models/caffe/m.prototxt"), new org.apache.hadoop.fs.Path("/models/deploy.prototxt"));
    Run named = evaluate(hdfs.root + "/models/deploy.prototxt", weights);
    assertEquals(EvaluateSparkTest.results(caffeLocal), EvaluateSparkTest.results(named));
    Run missing = evaluate(hdfs.root + "/models/deploy.prototxt", flags);
    assertEquals(2, missing.code(), missing.err());
    assertTrue(missing.err().contains("caffemodel file not found: " + hdfs.root + "/models/deploy.caffemodel"), missing.err());
  }

  private static Run evaluate(String model, List<String> flags) {
    List<String> args = new ArrayList<>(List.of("evaluate", "--model", model));
    args.addAll(flags);
    Run r = Run.of(args.toArray(new String[0]));
    return r;
  }

  /**
   * Checkpoints on hdfs:// are qspark's too: a flipped bit in the newest (HDFS's own block
   * checksums do not see a file rewritten whole) is found by its sha256, and the resumed run
   * continues from the one before and ends with the uninterrupted run's model.
   */
  @Test
  void qatResumesPastADamagedCheckpointOnHdfs() throws IOException {
    Path whole = dir.resolve("qat-whole"), resumed = dir.resolve("qat-resumed");
    String ck = hdfs.root + "/ck/run1";
    java.util.function.BiFunction<Path, String[], Run> qat = (out, more) -> {
      List<String> a = new ArrayList<>(List.of("qat", "--model", Run.sampleModel(), "--data", images, "--limit", "128", "--mean",
          "72.94", "--std", "90.02", "--bits", "4", "--calib-size", "64", "--epochs", "1", "--batch-size", "64", "--micro-batch",
          "32", "--checkpoint-every", "1", "--master", "local[2]", "--checkpoint-dir", ck, "--out", out.toString()));
      a.addAll(List.of(more));
      return Run.of(a.toArray(new String[0]));
    };
    Run a = qat.apply(whole, new String[0]);
    assertEquals(0, a.code(), a.err());
    assertEquals(List.of(OutputMarker.FILE, "step-000000001", "step-000000002"), names("/ck/run1"));
    String state = "/ck/run1/step-000000002/state.bin";
    byte[] b = read(state);
    b[b.length / 2] ^= 0x01;
    try (var o = hdfs.fs().create(new org.apache.hadoop.fs.Path(state), true)) {
      o.write(b);
    }
    Run r = qat.apply(resumed, new String[] {"--resume"});
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().contains("damaged checkpoint step-000000002 (state.bin does not match its sha256)"), r.err());
    for (String f : List.of("float_model.onnx", "quant_info.json", "quantize_eval_model.onnx")) {
      assertArrayEquals(Files.readAllBytes(whole.resolve(f)), Files.readAllBytes(resumed.resolve(f)), f);
    }
  }
}
