using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Cluster.Bench;

/// <summary>The runtime benchmark's reference for the data plane: a raw TCP socket between two processes, as the bulk
/// channel runs between two silos. `Cluster.Bench raw-sink` is the receiving process: it prints its port, then per
/// message reads an int64 length and that many bytes into a fresh array (as the bulk channel does) and answers 4 bytes.</summary>
internal static class RawSocketSink
{
    public static int Run()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        Console.WriteLine(((IPEndPoint)listener.LocalEndPoint!).Port);
        using var socket = listener.Accept();
        socket.NoDelay = true;
        var head = new byte[8];
        while (ReadFully(socket, head))
        {
            var received = GC.AllocateUninitializedArray<byte>(checked((int)BinaryPrimitives.ReadInt64LittleEndian(head)));
            if (!ReadFully(socket, received)) return 1;
            socket.Send(BitConverter.GetBytes(received.Length));
        }
        return 0;
    }

    static bool ReadFully(Socket socket, byte[] buffer)
    {
        for (var at = 0; at < buffer.Length;)
        {
            var n = socket.Receive(buffer, at, buffer.Length - at, SocketFlags.None);
            if (n == 0) return false;
            at += n;
        }
        return true;
    }

    /// <summary>The sending side, in the benchmark's process: one connection to a raw-sink process.</summary>
    public sealed class Client : IDisposable
    {
        readonly Process _sink;
        readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };

        public Client(string benchDll)
        {
            var info = new ProcessStartInfo("dotnet", [benchDll, "raw-sink"]) { RedirectStandardOutput = true };
            _sink = Process.Start(info)!;
            var port = int.Parse(_sink.StandardOutput.ReadLine() ?? throw new IOException("raw-sink printed no port"));
            _socket.Connect(IPAddress.Loopback, port);
        }

        /// <summary>Seconds from the first byte sent to the acknowledgement of the last.</summary>
        public async Task<double> CopyAsync(byte[] payload)
        {
            var head = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(head, payload.Length);
            var watch = Stopwatch.StartNew();
            await _socket.SendAsync(head, SocketFlags.None);
            for (var sent = 0; sent < payload.Length;) sent += await _socket.SendAsync(payload.AsMemory(sent), SocketFlags.None);
            var ack = new byte[4];
            for (var got = 0; got < 4;) got += await _socket.ReceiveAsync(ack.AsMemory(got), SocketFlags.None);
            return watch.Elapsed.TotalSeconds;
        }

        public void Dispose()
        {
            _socket.Dispose(); // the sink sees the end and exits
            if (!_sink.WaitForExit(10_000)) _sink.Kill();
            _sink.Dispose();
        }
    }
}
