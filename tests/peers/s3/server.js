#!/usr/bin/env node
// Starts the S3 test peer (s3rver, which checks SigV4 signatures) on a loopback port.
//
// Usage: node server.js --dir DATA_DIR [--port 0] [--port-file FILE] [--request-log FILE]
//                       [--crash-on-part N] [--fail-parts-status CODE] [--concurrent-create 1]
//                       [--stall-parts 1] [--key KEY.pem --cert CERT.pem]
//
//   --port 0             (default) lets the kernel pick a free port; the chosen port is printed
//                        as "listening PORT" on stdout and written to --port-file when given.
//   --key/--cert         serve https with this private key and certificate.
//   --request-log FILE   appends one JSON line per answered request: method, url, status, and
//                        when it was received and answered (milliseconds since the epoch).
//                        Tests use it to see requests the server does not implement (such as
//                        AbortMultipartUpload, answered 405).
//   --crash-on-part N    the process dies abruptly when the N-th UploadPart request arrives
//                        (its connection is reset), like a server that stops mid-upload.
//   --fail-parts-status C  every UploadPart request is answered with HTTP status C and an S3
//                        error body, so a client exhausts its part retries while the server
//                        stays up and can still be asked for other requests.
//   --stall-parts 1      UploadPart requests are read but never answered, like a server that
//                        hangs: the client's request timeout has to end them.
//   --concurrent-create 1  a CreateBucket request finds the bucket already created, as if another
//                        client created it between this client's HEAD and PUT (the answer is
//                        s3rver's own 409 BucketAlreadyExists).
//
// Credentials are s3rver's built-in pair S3RVER / S3RVER. The server exits on SIGTERM/SIGINT.
'use strict'

const fs = require('node:fs')
const S3rver = require('@20minutes/s3rver')

function parseArgs(argv) {
  const opts = { port: 0, address: '127.0.0.1' }
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]
    const value = argv[i + 1]
    if (value === undefined) throw new Error(`missing value for ${name}`)
    switch (name) {
      case '--dir':
        opts.dir = value
        break
      case '--port':
        opts.port = Number(value)
        break
      case '--port-file':
        opts.portFile = value
        break
      case '--request-log':
        opts.requestLog = value
        break
      case '--crash-on-part':
        opts.crashOnPart = Number(value)
        break
      case '--fail-parts-status':
        opts.failPartsStatus = Number(value)
        break
      case '--key':
        opts.key = value
        break
      case '--cert':
        opts.cert = value
        break
      case '--stall-parts':
        opts.stallParts = value === '1'
        break
      case '--concurrent-create':
        opts.concurrentCreate = value === '1'
        break
      default:
        throw new Error(`unknown option ${name}`)
    }
  }
  if (!opts.dir) throw new Error('--dir DATA_DIR is required')
  return opts
}

function createdBucket(req) {
  const match = /^\/([^/?]+)\/?$/.exec(req.url)
  return req.method === 'PUT' && match ? match[1] : undefined
}

function isUploadPart(req) {
  return req.method === 'PUT' && /[?&]partNumber=/.test(req.url) && /[?&]uploadId=/.test(req.url)
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  fs.mkdirSync(opts.dir, { recursive: true })
  const server = new S3rver({
    directory: opts.dir,
    address: opts.address,
    port: opts.port,
    silent: true,
    ...(opts.key && opts.cert
      ? { key: fs.readFileSync(opts.key), cert: fs.readFileSync(opts.cert) }
      : {}),
  })

  let parts = 0
  // Fault injection runs before s3rver's own middleware sees the request.
  server.middleware.unshift(async (ctx, next) => {
    const bucket = opts.concurrentCreate && createdBucket(ctx.req)
    if (bucket) {
      await server.store.putBucket(bucket)
    }
    if (isUploadPart(ctx.req)) {
      parts += 1
      if (opts.crashOnPart && parts >= opts.crashOnPart) {
        ctx.req.socket.destroy()
        process.kill(process.pid, 'SIGKILL')
        return
      }
      if (opts.stallParts) {
        ctx.req.resume()
        await new Promise((resolve) => ctx.req.socket.once('close', resolve))
        return
      }
      if (opts.failPartsStatus) {
        ctx.status = opts.failPartsStatus
        ctx.type = 'application/xml'
        ctx.body =
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>' +
          '<Message>Injected part failure</Message></Error>'
        ctx.req.resume()
        return
      }
    }
    await next()
  })

  // Logged synchronously before the answer is sent, so a client that has its answer finds the
  // line already in the log. Errors thrown by s3rver's handlers carry their HTTP status.
  // `received` (the request's headers arrived) and `answered` are milliseconds since the epoch,
  // for benchmarks that time the server's share of an upload.
  if (opts.requestLog) {
    server.middleware.unshift(async (ctx, next) => {
      const received = Date.now()
      let status
      try {
        await next()
        status = ctx.status
      } catch (err) {
        status = err.status || 500
        throw err
      } finally {
        const line = { method: ctx.method, url: ctx.url, status, received, answered: Date.now() }
        fs.appendFileSync(opts.requestLog, `${JSON.stringify(line)}\n`)
      }
    })
  }

  const { port } = await server.run()
  const httpServer = server.httpServer
  if (opts.portFile) {
    fs.writeFileSync(`${opts.portFile}.tmp`, `${port}\n`)
    fs.renameSync(`${opts.portFile}.tmp`, opts.portFile)
  }
  process.stdout.write(`listening ${port}\n`)
  const stop = () => httpServer.close(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => {
  process.stderr.write(`s3 test peer: ${err.message}\n`)
  process.exit(1)
})
