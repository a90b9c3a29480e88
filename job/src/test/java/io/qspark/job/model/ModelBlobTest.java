package io.qspark.job.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.ByteString;
import io.qspark.kernels.exec.Executor;
import io.qspark.kernels.model.Model;
import io.qspark.kernels.onnx.proto.OnnxProto.ModelProto;
import io.qspark.kernels.onnx.proto.OnnxProto.StringStringEntryProto;
import io.qspark.kernels.onnx.proto.OnnxProto.TensorProto;
import io.qspark.kernels.tensor.Tensor;
import io.qspark.kernels.testing.Shared;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What executors get: one blob that loads without the model's folder, cached per JVM by digest. */
@Tag("slow")
class ModelBlobTest {
  @Test
  void externalTensorsTravelInsideTheBlob(@TempDir Path dir) throws Exception {
    // resnet_s with every initializer moved to weights.bin beside it
    ModelProto m = ModelProto.parseFrom(Files.readAllBytes(Shared.model("resnet_s.onnx")));
    ModelProto.Builder b = m.toBuilder();
    ByteString.Output bin = ByteString.newOutput();
    for (TensorProto.Builder t : b.getGraphBuilder().getInitializerBuilderList()) {
      long offset = bin.size();
      t.getRawData().writeTo(bin);
      t.clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
          .addExternalData(kv("location", "weights.bin"))
          .addExternalData(kv("offset", Long.toString(offset)))
          .addExternalData(kv("length", Long.toString(bin.size() - offset)));
    }
    Files.write(dir.resolve("weights.bin"), bin.toByteString().toByteArray());
    Path file = Files.write(dir.resolve("m.onnx"), b.build().toByteArray());

    ModelBlob blob = ModelBlob.of(file);
    Files.delete(dir.resolve("weights.bin")); // an executor does not have it either
    LoadedModels.Loaded loaded = LoadedModels.get(blob);
    assertSame(loaded, LoadedModels.get(blob), "one import per JVM and digest");
    Executor remote = loaded.executor();

    Tensor x = Shared.testImages(8);
    Executor local = new Executor(Model.load(Shared.model("resnet_s.onnx")).forInference().graph());
    assertArrayEquals(local.run(x).data(), remote.run(x).data());
  }

  @Test
  void selfContainedFilesTravelUnchanged() throws Exception {
    ModelBlob blob = ModelBlob.of(Shared.model("resnet_s.onnx"));
    assertEquals(Model.load(Shared.model("resnet_s.onnx")).sha256(), blob.sha256());
  }

  private static StringStringEntryProto kv(String k, String v) {
    return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }
}
