package io.qspark.dpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.qspark.dpu.proto.DeployProto.DeployModel;
import io.qspark.dpu.proto.DeployProto.Layer;
import io.qspark.dpu.proto.DeployProto.Op;
import io.qspark.dpu.proto.DeployProto.Value;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeploySummaryTest {
  @Test
  void columnsStayAlignedForLongLayerNames() {
    // exporters name layers by module path; 60 characters is common in detection heads
    String longName = "/model.24/m.2/Conv_output_0/with/a/very/long/module/path/xx";
    DeployModel m = DeployModel.newBuilder().setFormatVersion(2)
        .addValues(Value.newBuilder().setName("x"))
        .addValues(Value.newBuilder().setName("a").setInteger(true).setBits(8).setFixPoint(4))
        .addValues(Value.newBuilder().setName("b").setInteger(true).setBits(8).setFixPoint(3))
        .addInputs("x")
        .addLayers(Layer.newBuilder().setName("p").setOp(Op.MAX_POOL).addInputs("x").setOutput("a"))
        .addLayers(Layer.newBuilder().setName(longName).setOp(Op.MAX_POOL).addInputs("a").setOutput("b"))
        .addOutputs("b").build();
    List<String> lines = DeploySummary.text(m).lines().skip(1).toList();
    assertEquals(3, lines.size(), String.join("\n", lines));
    // the op column starts at the same place on the header and every layer's line
    int header = lines.get(0).indexOf("op");
    assertEquals(header, lines.get(1).indexOf("MAX_POOL"), String.join("\n", lines));
    assertEquals(header, lines.get(2).indexOf("MAX_POOL"), String.join("\n", lines));
    assertEquals(longName.length() + 1, header);
  }
}
