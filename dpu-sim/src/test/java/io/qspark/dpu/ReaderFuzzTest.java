package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.kernels.caffe.CaffeImporter;
import io.qspark.kernels.caffe.proto.CaffeProto.NetParameter;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.graph.GraphException;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.onnx.OnnxImporter;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.quant.ActivationStats;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seeded random mutations of the shared models through the model readers: ONNX (import, load-time
 * preparation, the inference passes), Caffe (prototxt and caffemodel) and the deploy model (read,
 * and when it reads, simulated on an image by the fast and the reference kernels). Half of the mutations change one field of the
 * parsed message, half damage the bytes (or the prototxt's text). Whatever the input, a reader
 * ends normally or with its own one-line error type (GraphException, DeployException): never an
 * IndexOutOfBounds, a NullPointerException, an arithmetic overflow or an out-of-memory.
 */
@Tag("slow")
class ReaderFuzzTest {
  static final long SEED = 20240616L;
  /** ONNX models of different ops: residual, depthwise with ReLU6, a detector head, two inputs. */
  static final String[] ONNX = {"resnet_s.onnx", "mbv2_s.onnx", "realworld/tiny_yolo.onnx", "realworld/siamese2.onnx"};
  static final List<ModelProto> onnx = new ArrayList<>();
  static final List<byte[]> onnxBytes = new ArrayList<>();
  static final List<DeployModel> deploy = new ArrayList<>();
  static byte[] caffemodel;
  static String prototxt;
  static Tensor image;

  @BeforeAll
  static void load() throws Exception {
    for (String f : ONNX) {
      onnxBytes.add(Files.readAllBytes(Shared.model(f)));
      onnx.add(ModelProto.parseFrom(onnxBytes.get(onnxBytes.size() - 1)));
    }
    prototxt = Files.readString(Shared.model("caffe/resnet_s.prototxt"));
    caffemodel = Files.readAllBytes(Shared.model("caffe/resnet_s.caffemodel"));
    image = Shared.testImages(1);
    Tensor calib = Shared.images("train-images-idx3-ubyte.gz", 64);
    // deploy models with every DPU layer kind: conv, fc, eltwise add, average pooling, clip (ReLU6), reshape
    for (String f : new String[] {"resnet_s.onnx", "mbv2_s.onnx"}) {
      Model m = Model.load(Shared.model(f)).forInference();
      QuantConfig cfg = QuantConfig.defaults();
      QuantPlan plan = QuantPlan.of(m.graph(), cfg);
      ActivationStats stats = new ActivationStats();
      new Executor(m.graph()).run(Map.of(m.graph().inputs().get(0).name(), calib), stats.observer(plan), false);
      QuantParams params = QuantParams.decide(m.graph(), plan, stats.histograms(), cfg);
      deploy.add(DeployCompiler.compile(m.graph(), cfg, params, m.sha256()));
    }
  }

  /** Runs the cases; collects every exception of a type other than {@code allowed}. */
  private static void fuzz(String what, int cases, Class<? extends RuntimeException> allowed, Consumer<Random> oneCase) {
    List<String> bad = new ArrayList<>();
    int refused = 0;
    for (int i = 0; i < cases; i++) {
      Random rnd = new Random(SEED * 31 + what.hashCode() * 1009L + i);
      try {
        oneCase.accept(rnd);
      } catch (Case c) {
        Throwable t = c.getCause();
        if (allowed.isInstance(t)) {
          refused++;
          // (a name from the file may hold a line break: the command line joins the lines)
          if (t.getMessage() == null || t.getMessage().isBlank()) bad.add("case " + i + " (" + c.getMessage() + "): no message");
        } else {
          StringBuilder at = new StringBuilder();
          StackTraceElement[] st = t.getStackTrace();
          for (int f = 0; f < Math.min(4, st.length); f++) at.append("\n    at ").append(st[f]);
          bad.add("case " + i + " (" + c.getMessage() + "): " + t + at);
        }
      }
    }
    System.out.printf("%s: %d cases, %d refused with %s, %d read%n", what, cases, refused, allowed.getSimpleName(),
        cases - refused - bad.size());
    assertTrue(bad.isEmpty(), what + ": " + bad.size() + " of " + cases + " cases ended otherwise than in "
        + allowed.getSimpleName() + ", e.g.:\n" + String.join("\n", bad.subList(0, Math.min(12, bad.size()))));
    assertTrue(refused > cases / 10, what + ": only " + refused + " of " + cases + " mutations were refused");
  }

  /** A case's failure with what the mutation was. */
  private static final class Case extends RuntimeException {
    Case(String what, Throwable cause) {
      super(what, cause, false, false);
    }
  }

  private static void run(String what, Runnable r) {
    try {
      r.run();
    } catch (Throwable t) {
      throw new Case(what, t);
    }
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void onnxReaderEndsInGraphException() {
    fuzz("onnx", 1200, GraphException.class, rnd -> {
      int k = rnd.nextInt(ONNX.length);
      byte[] bytes;
      String what = ONNX[k] + ": ";
      if (rnd.nextBoolean()) {
        Message m = onnx.get(k);
        // one to three changes, so a check that passes the first is tried with the next
        for (int n = 1 + rnd.nextInt(3), j = 0; j < n; j++) {
          ProtoMutator.Mutated mm = new ProtoMutator(rnd).mutate(m);
          m = mm.message();
          what += (j > 0 ? "; " : "") + mm.what();
        }
        bytes = m.toByteArray();
      } else {
        byte[][] h = {onnxBytes.get(k).clone()};
        what += ProtoMutator.damage(h, rnd);
        bytes = h[0];
      }
      byte[] b = bytes;
      run(what, () -> {
        OnnxImporter.Imported imp = OnnxImporter.parse(b, null, "fuzz.onnx");
        Model.prepare(imp.graph(), "fuzz.onnx", "", "onnx").forInference();
      });
    });
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void caffeReaderEndsInGraphException() throws Exception {
    NetParameter weights = NetParameter.parseFrom(caffemodel);
    fuzz("caffe", 800, GraphException.class, rnd -> {
      String text = prototxt;
      byte[] w = caffemodel;
      String what;
      int k = rnd.nextInt(3);
      if (k == 0) {
        ProtoMutator.Mutated m = new ProtoMutator(rnd).mutate(weights);
        w = m.message().toByteArray();
        what = "caffemodel " + m.what();
      } else if (k == 1) {
        byte[][] h = {caffemodel.clone()};
        what = "caffemodel " + ProtoMutator.damage(h, rnd);
        w = h[0];
      } else {
        String[] t = {prototxt};
        what = "prototxt " + damageText(t, rnd);
        text = t[0];
      }
      String tx = text;
      byte[] wb = w;
      run(what, () -> {
        CaffeImporter.Imported imp = CaffeImporter.parse(tx, wb, "fuzz.prototxt", "fuzz.caffemodel", null);
        Model.prepare(imp.graph(), "fuzz.prototxt", "", "caffe").forInference();
      });
    });
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void deployReaderEndsInDeployException() {
    fuzz("deploy", 1000, DeployException.class, rnd -> {
      DeployModel base = deploy.get(rnd.nextInt(deploy.size()));
      String in = base.getInputs(0);
      byte[] bytes;
      String what;
      int k = rnd.nextInt(3);
      if (k < 2) {
        ProtoMutator.Mutated m = new ProtoMutator(rnd).mutate(base);
        // resealed: the digest matches, so the ranges and shapes have to catch what is wrong
        Message msg = k == 0 ? DeployFormat.seal((DeployModel) m.message()) : m.message();
        bytes = msg.toByteArray();
        what = (k == 0 ? "resealed " : "") + m.what();
      } else {
        byte[][] h = {base.toByteArray()};
        what = ProtoMutator.damage(h, rnd);
        bytes = h[0];
      }
      byte[] b = bytes;
      run(what, () -> {
        DeployModel dm = DeployFormat.parse(b, "fuzz.pb");
        new Simulator(dm).run(Map.of(in, image));
        new Simulator(dm, true).run(Map.of(in, image));
      });
    });
  }

  /** Token-level damage to a prototxt: a line dropped or repeated, a number changed, a brace or quote lost. */
  private static String damageText(String[] holder, Random rnd) {
    String[] lines = holder[0].split("\n", -1);
    int i = rnd.nextInt(lines.length);
    List<String> out = new ArrayList<>(List.of(lines));
    String what;
    switch (rnd.nextInt(5)) {
      case 0 -> {
        out.remove(i);
        what = "line " + (i + 1) + " dropped";
      }
      case 1 -> {
        out.add(i, lines[i]);
        what = "line " + (i + 1) + " repeated";
      }
      case 2 -> {
        String[] nums = {"0", "-1", "2147483647", "-2147483648", "4294967296", "99999999999", "nan", "inf", "1e39", "3"};
        String n = nums[rnd.nextInt(nums.length)];
        out.set(i, lines[i].replaceAll("-?\\d+(\\.\\d+)?", n));
        what = "numbers on line " + (i + 1) + " set to " + n;
      }
      case 3 -> {
        out.set(i, lines[i].replace("{", "").replace("}", "").replace("\"", ""));
        what = "braces and quotes on line " + (i + 1) + " removed";
      }
      default -> {
        byte[] b = holder[0].getBytes(StandardCharsets.UTF_8);
        int at = rnd.nextInt(b.length);
        b[at] = (byte) (32 + rnd.nextInt(95));
        holder[0] = new String(b, StandardCharsets.UTF_8);
        return "character " + at + " replaced";
      }
    }
    holder[0] = String.join("\n", out);
    return what;
  }
}
